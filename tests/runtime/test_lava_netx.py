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


def _numpy_netx(path, xq):
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
    from snnc.runtime.lava.netx import export_netx, import_netx
    from snnc.runtime.lava.watchdog import run_isolated

    path = tmp_path / "model.net"
    info = export_netx(_net(rng), path, input_bits=7)
    x = rng.random((N, 1, 8, 8)).astype(np.float32)
    xq = np.round(x * info["input_scale"]).astype(np.int64)
    depth = len(info["layers"])

    def run():  # in a watchdog worker: Lava is imported there, never in the test process
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
        Network = import_netx().Network  # lava.lib.dl.netx.hdf5.Network
        net = Network(net_config=str(path), input_message_bits=8, reset_interval=T, reset_offset=1)
        steps = N * T + depth
        data = np.zeros(net.inp.shape + (steps,))
        for s in range(N):
            data[..., s * T:(s + 1) * T] = xq[s].transpose(2, 1, 0)[..., None]
        src, sink = Source(data=data), Sink(shape=net.out.shape, buffer=steps)
        src.s_out.connect(net.inp)
        net.out.connect(sink.a_in)
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = sink.data.get()
        net.stop()
        return out

    out, _ = run_isolated(run, timeout=300)
    got = np.stack([out[:, s * T + depth:(s + 1) * T + depth].sum(axis=1) for s in range(N)])
    want = _numpy_netx(path, xq)
    np.testing.assert_array_equal(got, want)
    assert want.sum() > 0


def test_netx_export_rejects_what_netx_cannot_express(tmp_path, rng):
    from snnc.runtime.lava.netx import export_netx
    with pytest.raises(BackendError, match="ChannelAffine 'skip', Add 'add', MaxPool2d 'p3', MaxPool2d 'p4'"):
        export_netx(residual_pool_net(rng), tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()
