"""netx export: loads in lava-dl's netx and runs exactly like an independent NumPy model of its semantics."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError
from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Conv2d, Flatten, IFNeuron, Input, Linear

from .lava_nets import dyadic, residual_pool_net

T, N = 10, 3


def _net(rng):
    one, half = (lambda c: np.ones(c, np.float32)), (lambda c: np.full(c, 0.5, np.float32))
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", Conv2d(dyadic(rng.normal(0, .8, (4, 1, 3, 3))), dyadic(rng.normal(.1, .1, 4)),
                          padding=(1, 1, 1, 1)), ["x"]), ("n1", IFNeuron(one(4), half(4)), ["c1"]),
            ("c2", Conv2d(dyadic(rng.normal(0, .5, (6, 4, 3, 3))), None, stride=(2, 2), padding=(1, 1, 1, 1)),
             ["n1"]), ("n2", IFNeuron(one(6), half(6)), ["c2"]),
            ("f", Flatten(), ["n2"]),
            ("d1", Linear(dyadic(rng.normal(0, .3, (12, 96))), dyadic(rng.normal(0, .1, 12))), ["f"]),
            ("n3", IFNeuron(one(12), half(12)), ["d1"]),
            ("out", Linear(dyadic(rng.normal(0, .5, (5, 12))), None), ["n3"])]
    return Graph.build(spec, ["out"])


def _numpy_netx(path, xq, T=T):
    """Loihi CUBA blocks from the file: u = a << 6, v += u + bias << 6, s = v > vth << 6, v[s] = 0."""
    import h5py
    with h5py.File(path, "r") as f:
        layers = [f["layer"][str(i)] for i in range(len(f["layer"]))]
        blocks = []
        for g in layers:
            kind = g["type"][()].decode()
            if kind in ("conv", "dense"):
                blocks.append((kind, g["weight"][()], g["bias"][()] if "bias" in g else 0,
                               int(g["neuron/vThMant"][()]), tuple(g["stride"][()]) if kind == "conv" else None,
                               tuple(g["padding"][()]) if kind == "conv" else None))
    counts = np.zeros((len(xq), blocks[-1][1].shape[0]), np.int64)
    v = [0] * len(blocks)
    for t in range(T):
        a = xq.astype(np.float64)
        for b, (kind, w, bias, vth, stride, pad) in enumerate(blocks):
            if kind == "conv":
                op = Conv2d(w.astype(np.float32), None, stride=stride, padding=(pad[0], pad[1]) * 2)
                cur = np.round(apply(op, a.astype(np.float32))).astype(np.int64)
                bias_full = np.asarray(bias).reshape(-1, 1, 1) if np.ndim(bias) else bias
            else:
                cur = a.reshape(len(a), -1).astype(np.int64) @ w.T
                bias_full = bias
            vb = (v[b] if t else 0) + (cur << 6) + (np.asarray(bias_full, np.int64) << 6)
            s = vb > (vth << 6)
            v[b] = np.where(s, 0, vb)
            a = s.astype(np.float64)
        counts += s.reshape(len(a), -1)
    return counts


def test_netx_export_runs_in_netx_like_the_numpy_model(lava, tmp_path, rng):
    from snnc.runtime.lava.netx import export_netx, run_netx
    path = tmp_path / "model.net"
    info = export_netx(_net(rng), path, input_bits=7)
    x = rng.random((N, 1, 8, 8)).astype(np.float32)
    got = run_netx(path, x, T, input_bits=7, timeout=300, spikes=True)  # lava-dl's netx, in a watchdog worker
    want = _numpy_netx(path, np.round(x * info["input_scale"]).astype(np.int64))
    np.testing.assert_array_equal(got.sum(axis=1), want)
    assert got.shape == (N, T, 5) and want.sum() > 0


def test_the_calibration_simulator_is_the_file_model(tmp_path, rng, require):
    """netx_model (what the calibration simulates) against the independent NumPy model of the written file."""
    require("h5py", "SNNC_REQUIRE_LAVA")
    from snnc.runtime.lava.netx import export_netx, netx_blocks, quantise_input
    from snnc.runtime.lava.netx_model import readout_currents, readout_spikes
    g, x = _net(rng), rng.random((8, 1, 8, 8)).astype(np.float32)
    export_netx(g, tmp_path / "m.net")
    _, blocks, _ = netx_blocks(g)
    xq = quantise_input(x, 7)
    got = readout_spikes(readout_currents(blocks, xq, T), blocks[-1].bias_full(1), blocks[-1].vth)
    np.testing.assert_array_equal(got.sum(axis=1), _numpy_netx(tmp_path / "m.net", xq))


def test_a_threshold_is_carried_into_the_next_block(tmp_path, rng, require):
    """IF(theta) emits s * theta: threshold 2 with W1, b1 is threshold 1 with W1 / 2, b1 / 2 and the next
    block's weights x 2 (closed form), so both graphs give the same integers in the file."""
    h5py = require("h5py", "SNNC_REQUIRE_LAVA")
    from snnc.compiler.ir.ops import IFNeuron as IF
    from snnc.runtime.lava.netx import export_netx
    w1, b1, w2 = (dyadic(rng.normal(0, sd, s)) for sd, s in ((.5, (6, 16)), (.05, (6,)), (.5, (3, 6))))
    def chain(theta, gain):
        """x -> d1 = (W1 x + b1) / gain -> IF(theta) -> out = W2 gain (its input is s * theta)."""
        return Graph.build([("x", Input((16,)), []), ("d1", Linear(w1 / gain, b1 / gain), ["x"]),
                            ("n1", IF(np.full(6, theta, np.float32), np.full(6, theta / 2, np.float32)), ["d1"]),
                            ("out", Linear(w2 * gain, None), ["n1"])], ["out"])
    export_netx(chain(2.0, 1.0), tmp_path / "a.net")
    export_netx(chain(1.0, 2.0), tmp_path / "b.net")
    with h5py.File(tmp_path / "a.net") as a, h5py.File(tmp_path / "b.net") as b:
        for i in ("1", "2"):
            np.testing.assert_array_equal(a[f"layer/{i}/weight"][()], b[f"layer/{i}/weight"][()])
            assert a[f"layer/{i}/neuron/vThMant"][()] == b[f"layer/{i}/neuron/vThMant"][()]


def test_predict_breaks_ties_by_the_first_class_to_reach_the_top_count():
    from snnc.runtime.lava.netx_model import predict, readout_stats
    s = np.zeros((4, 6, 3), bool)
    s[0, [1, 4], 2] = s[0, [0, 5], 1] = True     # 2 and 1 both reach 2 spikes: 2 at step 4, 1 at step 5
    s[1, [0, 1, 2], 0] = s[1, [3], 1] = True     # a clear winner: 0
    s[2, 3, [0, 2]] = True                       # a tie at the same step: the lowest index
    want = [2, 0, 0, -1]                         # sample 3: no spike at all
    np.testing.assert_array_equal(predict(s), want)
    assert readout_stats(s) == {"silent": 0.25, "ties": 0.5, "ties_unresolved": 0.25}


@pytest.fixture(scope="module")
def mnist_chain():
    """The conv -> conv -> dense chain compiled with snnc.compile on 200 real MNIST training images:
    with one threshold per layer (ltb), as netx needs, and with the default per-channel cltb."""
    import snnc
    from snnc.compiler.data.mnist import load_split
    from .lava_nets import mnist_chain_onnx
    model, calib = mnist_chain_onnx(), load_split("train")[0][-200:]
    return {m: snnc.compile(model, calib=calib, method=m) for m in ("ltb", "cltb")}


@pytest.fixture(scope="module")
def calib_x():
    from snnc.compiler.data import load_data
    return load_data("mnist:train", n=128).x


def test_compiled_mnist_chain_in_netx_matches_the_file_model(lava, tmp_path, mnist_chain, calib_x):
    """The calibrated export, with the target profile's weight bits, run by lava-dl netx on 20 MNIST test
    images at T = 32: the spike counts equal the NumPy CUBA model of the file."""
    from snnc.cli.export_cmd import weight_bits
    from snnc.compiler.data import load_data
    from snnc.runtime.lava.netx import export_netx, run_netx
    art = mnist_chain["ltb"]
    bits, source = weight_bits(art)
    assert (bits, source) == (8, "profile 'loihi2'")
    info = export_netx(art.snn, tmp_path / "chain.net", input_bits=7, weight_bits=bits, calib=calib_x, T=32)
    assert info["warnings"] == [] and all(b["units_zeroed"] == 0 for b in info["layers"])
    data, t = load_data("mnist:test", n=20), 32
    got = run_netx(tmp_path / "chain.net", data.x, t, input_bits=7, timeout=600)
    xq = np.round(data.x * info["input_scale"]).astype(np.int64)
    np.testing.assert_array_equal(got, _numpy_netx(tmp_path / "chain.net", xq, t))
    assert got.sum() > 0


@pytest.mark.parametrize("t", [32])
def test_calibrated_netx_readout_is_as_accurate_as_the_stock_lif_network(tmp_path, mnist_chain, calib_x, t,
                                                                       require):
    """The calibrated file on 50 MNIST test images (spike counts of the independent file model, which equals
    lava-dl's netx: test above; plain argmax, lowest index on ties) reaches the accuracy of the stock-LIF
    NumPy simulation of the same network (reset to zero, current readout) within MARGIN = 0.06 (3 images),
    or better. Measured: calibrated 1.00, stock-LIF 0.94, uncalibrated (threshold-1 readout) 0.44: the
    uncalibrated file fails the bound, so the test fails when the readout calibration is broken."""
    require("h5py", "SNNC_REQUIRE_LAVA")
    from snnc.compiler.data import load_data
    from snnc.runtime.lava.netx import export_netx
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.numpy_sim.simulate import readout_delays
    margin, art, data = 0.06, mnist_chain["ltb"], load_data("mnist:test", n=50)
    trace, _, _ = Reference(art.snn, stock=True).run(data.x, t)
    d = readout_delays(art, None, [t])[t]
    stock = float(np.mean(trace[:, d:t].mean(axis=1).argmax(axis=1) == data.y))
    acc, infos, xq = {}, {}, np.round(data.x * 2 ** 7).astype(np.int64)
    for name, calib in (("calibrated", calib_x), ("uncalibrated", None)):
        infos[name] = export_netx(art.snn, tmp_path / f"{name}.net", calib=calib, T=t)
        acc[name] = float(np.mean(_numpy_netx(tmp_path / f"{name}.net", xq, t).argmax(axis=1) == data.y))
    print(f"netx accuracy {acc}, stock-LIF NumPy {stock:.2f} (50 MNIST test images, T={t})")
    assert stock >= 0.85
    assert acc["calibrated"] >= stock - margin
    assert acc["uncalibrated"] < stock - margin
    r = infos["calibrated"]["calibration"]["readout"]  # on the calibration data: the winner's current raised, few silent or tied samples
    assert r["shift"] > 0 and r["silent"] <= 0.05 and r["ties"] <= 0.1


def test_netx_export_warns_when_one_exponent_per_block_zeroes_channels(tmp_path, mnist_chain, require):
    require("h5py", "SNNC_REQUIRE_LAVA")
    from snnc.runtime.lava.netx import export_netx
    info = export_netx(mnist_chain["cltb"].snn, tmp_path / "c.net", weight_bits=8)
    c1 = info["layers"][0]
    assert c1["layer"] == "c1" and c1["units_zeroed"] > 0
    assert len(info["warnings"]) >= 1 and "'c1'" in info["warnings"][0] and "--method ltb" in info["warnings"][0]


def test_netx_export_rejects_what_netx_cannot_express(tmp_path, rng):
    """Refused before anything is written, h5py or not."""
    from snnc.runtime.lava.netx import export_netx
    with pytest.raises(BackendError, match="ChannelAffine 'skip', Add 'add', MaxPool2d 'p3', MaxPool2d 'p4'"):
        export_netx(residual_pool_net(rng), tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()
