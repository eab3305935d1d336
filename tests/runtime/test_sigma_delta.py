"""Sigma-delta networks: the simulator equals the B-bit quantised ANN, the quantiser's closed form, targets."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import HardwareError, UsageError

N = 64


@pytest.fixture(scope="module")
def compiled():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    calib = load_data("mnist", n=500).x
    test = load_data("mnist:test", n=N)
    arts = {b: snnc.compile(str(example_model_path()), calib, iters=5, neuron="sigma-delta", act_bits=b)
            for b in (3, 8)}
    return arts, test


@pytest.mark.parametrize("bits", [3, 8])
def test_simulation_equals_quantised_ann_exactly(compiled, bits):
    """Every step's readout is the quantised ANN's logits (the same float32 kernels: bit-identical)."""
    import snnc
    from snnc.compiler.execute import predict
    arts, test = compiled
    art = arts[bits]
    res = snnc.simulate(art, test.x, T=[1, 2, 4], y=test.y, show_progress=False)
    ann_q = predict(art.snn, test.x)          # the executor runs SigmaDeltaNeuron as the B-bit quantiser
    for T in (1, 2, 4):
        np.testing.assert_array_equal(res.logits[T], ann_q)
    # static input: every neuron sends its code once (step 1), then nothing
    for layer in res.activity.layers:
        assert layer.spikes_per_step[0] > 0 and layer.spikes_per_step[1:] == [0.0, 0.0, 0.0]
    hist = res.records["payload_histogram"]
    assert all(len(h) == 2 ** bits - 1 for h in hist.values())
    total = sum(sum(h) for h in hist.values())
    assert total == pytest.approx(sum(sum(l.spikes_per_step) for l in res.activity.layers) * N)


def test_graded_spikes_count_nonzero_codes(compiled):
    """Graded spikes at step 1 = non-zero B-bit codes of the quantised ANN (float64 closed form)."""
    import snnc
    from snnc.compiler.execute import run
    from snnc.compiler.ir import SigmaDeltaNeuron
    arts, test = compiled
    art = arts[8]
    layers = [n for n in art.snn.nodes if isinstance(n.op, SigmaDeltaNeuron)]
    pre = {n.name: n.inputs[0] for n in layers}
    vals = run(art.snn, test.x, keep=list(pre.values()) + list(pre))
    res = snnc.simulate(art, test.x, T=1, show_progress=False)
    for n, layer in zip(layers, res.activity.layers):
        step = n.op.step.astype(np.float64).reshape((1, -1) + (1,) * (len(n.shape) - 1))
        z = vals[pre[n.name]].astype(np.float64)
        u = z / step
        q = np.clip(np.floor(u + 0.5), 0, 2 ** n.op.bits - 1)
        # float32 z / step + 1/2 is within 2 eps32 (|u| + 1) of u + 1/2: codes that close to a rounding
        # boundary may round either way; every other code is exact
        eps = np.finfo(np.float32).eps
        tie = np.abs(u + 0.5 - np.rint(u + 0.5)) <= 2 * eps * (np.abs(u) + 1)
        got = vals[n.name].astype(np.float64) / step
        np.testing.assert_array_equal(np.rint(got)[~tie], q[~tie])
        assert abs(layer.spikes_per_step[0] * N - np.count_nonzero(q)) <= np.count_nonzero(tie)


def test_compile_records_neuron_kind_and_bits(compiled):
    arts, _ = compiled
    rec = arts[8].meta["neurons"]
    assert rec["kind"] == "sigma-delta" and rec["act_bits"] == 8 and rec["payload_bits"] == 9
    assert arts[8].meta["options"]["neuron"] == "sigma-delta"


def test_artifact_roundtrip(compiled, tmp_path):
    from snnc.compiler.artifact import load
    from snnc.compiler.execute import predict
    arts, test = compiled
    arts[3].save(tmp_path / "sd.snnc")
    back = load(tmp_path / "sd.snnc")
    np.testing.assert_array_equal(predict(back.snn, test.x), predict(arts[3].snn, test.x))


@pytest.mark.parametrize("target", ["loihi", "truenorth"])
def test_target_without_graded_spikes_refuses(target):
    from snnc.compiler.compile import check_graded
    with pytest.raises(HardwareError, match=f"'{target}'.*graded"):
        check_graded(target, "sigma-delta", 8)
    check_graded(target, "if", 8)


def test_act_bits_above_payload_refused():
    from snnc.compiler.compile import check_graded
    check_graded("loihi2", "sigma-delta", 23)
    with pytest.raises(HardwareError, match="24 bits"):
        check_graded("loihi2", "sigma-delta", 24)
    with pytest.raises(UsageError):
        check_graded("loihi2", "sigma-delta", 0)
    with pytest.raises(UsageError):
        check_graded("loihi2", "graded", 8)


def test_simulate_and_estimate_cli(compiled, tmp_path, capsys):
    """`snnc simulate` on a sigma-delta artifact: JSON with graded counts and payload histogram, both PNGs;
    `snnc estimate` prices the record's graded ops at e_graded_op and refuses to guess without one."""
    import json
    from snnc.cli import main
    from snnc.compiler.hardware import load_profile
    arts, test = compiled
    path = arts[8].save(tmp_path / "sd.snnc")
    np.savez(tmp_path / "d.npz", x=test.x[:20], y=test.y[:20])
    plot, act = tmp_path / "acc.png", tmp_path / "act.json"
    assert main(["simulate", str(path), "--data", str(tmp_path / "d.npz"), "--T", "1,3", "--json",
                 "--plot", str(plot), "--activity-out", str(act)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["neuron"] == "sigma-delta" and set(out["payload_histogram"]) == {
        l["layer"] for l in out["layers"]}
    assert plot.exists() and (tmp_path / "acc_payload.png").exists()
    assert main(["estimate", str(path), "--activity", str(act), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    c = r["counts"]
    assert c["payload_bits"] == 9 and c["graded_ops"] == c["sop"] > 0
    e = load_profile("loihi2").get("energy.e_graded_op")
    assert r["breakdown_j"]["sop"]["nominal"] == pytest.approx(e * c["graded_ops"], rel=1e-12)
    assert main(["estimate", str(path)]) != 0
    assert "simulate it first" in capsys.readouterr().err


def test_lava_refuses_a_sigma_delta_layer_it_cannot_hold_by_name():
    """Lava runs sigma-delta layers as stock SigmaDelta (tests/runtime/test_lava_sigma_delta.py), which holds
    one threshold per layer: unequal steps are refused, naming the node."""
    from snnc.compiler.errors import BackendError
    from snnc.compiler.ir import Graph, Input, Linear, SigmaDeltaNeuron
    from snnc.runtime.lava.sd_numerics import sd_numbers, sd_plan
    w = np.ones((2, 3), np.float32)
    sd = SigmaDeltaNeuron(np.ones(2, np.float32), np.zeros(2, np.float32), "subtract",
                          np.array([0.1, 0.2], np.float32), 4)
    g = Graph.build([("x", Input((3,)), []), ("fc", Linear(w, None), ["x"]), ("sd", sd, ["fc"]),
                     ("out", Linear(np.ones((1, 2), np.float32), None), ["sd"])], ["out"])
    for fixed in (False, True):
        num = sd_numbers(sd_plan(g, fixed))
        with pytest.raises(BackendError, match="'sd'.*one threshold per layer"):
            num.sd_params(g.node("sd"), np.zeros(2))


def test_compile_cli_refuses_sigma_delta_on_binary_targets(tmp_path, capsys):
    from snnc.cli import main
    from snnc.compiler.data import example_model_path
    out = tmp_path / "m.snnc"
    rc = main(["compile", str(example_model_path()), "--calib", "mnist", "--neuron", "sigma-delta",
               "--target", "loihi", "-o", str(out)])
    assert rc == HardwareError.exit_code and not out.exists()
    assert "'loihi' has no graded spikes" in capsys.readouterr().err
    rc = main(["compile", str(example_model_path()), "--calib", "mnist", "--neuron", "sigma-delta",
               "--act-bits", "24", "-o", str(out)])
    assert rc == HardwareError.exit_code and not out.exists()
