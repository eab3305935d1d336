"""Stock mode (--stock-lif): only processes that ship with lava-nc, checked against the independent
NumPy model of that network (graded input into the first synapse, Lava's reset-to-zero LIF)."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Conv2d, Flatten, IFNeuron, Input, Linear

from .lava_nets import residual_avg_net, residual_pool_net, shifted_residual_net

T = 8


@pytest.mark.parametrize("fixed", [False, True])
def test_stock_network_equals_the_reset_to_zero_reference(lava, rng, fixed):
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = residual_avg_net(rng)  # residual block (its skip delayed by a DelayDense), stride-2 conv, GAP -> dense
    x = (np.round(rng.random((6, 1, 8, 8)) * 256) / 256).astype(np.float32)
    got = run_lava(g, x, T, fixed=fixed, stock=True, timeout=300)
    assert got.process_types["custom"] == []
    assert set(got.process_types["stock"]) == {"RingBuffer", "Conv", "Dense", "DelayDense", "LIFReset"}
    trace, spikes, _ = Reference(g, fixed=fixed, stock=True).run(x, T)
    assert set(got.spikes) == set(spikes) == {"n1", "n2", "n3", "n4"}
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=f"spikes of layer {k}")
        assert v.sum() > 0
    np.testing.assert_array_equal(got.trace, trace) if fixed else np.testing.assert_allclose(got.trace, trace, atol=1e-9)
    # every n4 neuron drives the 5 readout synapses (GAP fused into the dense): SOPs = 5 x spikes
    np.testing.assert_array_equal(got.sops["n4"], 5 * got.spikes["n4"])
    sub, _, _ = Reference(g, fixed=fixed).run(x, T)
    assert not np.array_equal(sub, trace)  # reset to zero really differs from reset by subtraction


def test_stock_fixed_point_weight_exponents_bit_exact(lava, rng):
    """Stock fixed point with per-synapse weight exponents: the delayed skip gain (DelayDense) and the
    vector skip gain (Dense) run their mantissas with ``weight_exp``; spikes and readout equal the
    reference's integers."""
    from snnc.compiler.lower import NumberFormat, make_plan
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = shifted_residual_net(rng)
    plan = make_plan(g, NumberFormat(True, 8, stock=True))
    assert plan.synapses["skip"].shift > 0 and plan.synapses["skip2"].shift > 0 and "skip" in plan.delays
    x = (np.round(rng.random((4, 1, 8, 8)) * 256) / 256).astype(np.float32)
    got = run_lava(g, x, T, fixed=True, stock=True, timeout=300)
    trace, spikes, _ = Reference(g, fixed=True, stock=True).run(x, T)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=f"spikes of layer {k}")
        assert v.sum() > 0, k
    np.testing.assert_array_equal(got.trace, trace)


def test_stock_mode_refuses_a_max_pool_by_name(lava, rng):
    from snnc.runtime.lava.runner import run_lava
    with pytest.raises(BackendError, match="MaxPool2d 'p3'.*no stock process"):
        run_lava(residual_pool_net(rng), rng.random((2, 1, 8, 8)), 4, stock=True, timeout=120)


def test_stock_mode_refuses_a_skip_without_a_synapse(lava, rng):
    """Spikes added to a current without a synapse cannot be delayed by a stock process."""
    from snnc.compiler.ir.ops import Add, GlobalAvgPool2d
    from snnc.runtime.lava.runner import run_lava
    from .lava_nets import dyadic
    one, half = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    conv = lambda: Conv2d(dyadic(rng.normal(0, 0.5, (4, 4, 3, 3))), None, padding=(1,) * 4)  # noqa: E731
    spec = [("x", Input((4, 4, 4)), []), ("c1", conv(), ["x"]), ("n1", IFNeuron(one, half), ["c1"]),
            ("c2", conv(), ["n1"]), ("add", Add(), ["c2", "n1"]), ("n2", IFNeuron(one, half), ["add"]),
            ("g", GlobalAvgPool2d(), ["n2"]), ("f", Flatten(), ["g"]),
            ("out", Linear(dyadic(rng.normal(0, 1, (3, 4))), None), ["f"])]
    with pytest.raises(BackendError, match="branch n1->add.*does not end in a synapse"):
        run_lava(Graph.build(spec, ["out"]), rng.random((2, 4, 4, 4)), 4, stock=True, timeout=120)


def u_wrap_net() -> Graph:
    """n1 (128 x 4 x 4) fires at every step (input 1, weight 2); an interior n2 neuron sums 1152 spikes x 127 = 146,304 >= 2^17:
    u = a << 6 wraps at 24 bits in Lava's LIF (the edge neurons sum 768 x 127 or fewer and do not)."""
    spec = [("x", Input((1, 4, 4)), []),
            ("c1", Conv2d(np.full((128, 1, 1, 1), 2.0, np.float32), None), ["x"]),
            ("n1", IFNeuron(np.ones(128, np.float32), np.full(128, 0.5, np.float32)), ["c1"]),
            ("c2", Conv2d(np.full((1, 128, 3, 3), 127 / 128, np.float32), None, padding=(1,) * 4), ["n1"]),
            ("n2", IFNeuron(np.ones(1, np.float32), np.full(1, 0.5, np.float32)), ["c2"]),
            ("f", Flatten(), ["n2"]), ("out", Linear(np.ones((2, 16), np.float32) / 16, None), ["f"])]
    return Graph.build(spec, ["out"])


def test_stock_lif_current_wrap_is_warned_counted_and_modelled(lava):
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g, x = u_wrap_net(), np.ones((2, 1, 4, 4), np.float32)
    got = run_lava(g, x, 4, fixed=True, stock=True, timeout=300)
    ref = Reference(g, fixed=True, stock=True)
    trace, spikes, _ = ref.run(x, 4)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=k)
    np.testing.assert_array_equal(got.trace, trace)
    assert ref.wrapped["n2"] == 2 * 4 * 4  # the 4 interior neurons wrap at every step of both samples
    assert spikes["n1"].tolist() == [2 * 128 * 16] * 4
    assert spikes["n2"].sum() == 2 * 4 * 12  # only the 12 border neurons fire
    assert got.numerics["overflow"]["n2"]["worst_input"] == 1152 * 127
    assert any("'n2'" in w and "u wraps" in w for w in got.numerics["warnings"])


def test_cli_stock_report_says_stock_only_and_warns(lava, tmp_path, capsys):
    from snnc.compiler.artifact import Artifact
    from snnc.cli import main
    g = u_wrap_net()
    model = Artifact(g, g, {"readout": {"mode": "fixed", "delay": 0}}).save(tmp_path / "w.snnc")
    np.savez(tmp_path / "d.npz", x=np.ones((2, 1, 4, 4), np.float32), y=np.zeros(2, np.int64))
    argv = ["run", str(model), "--data", str(tmp_path / "d.npz"), "--n", "2", "--T", "4", "--stock-lif", "--fixed-point"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "stock processes only (Conv, Dense, LIFReset, RingBuffer)" in out
    assert "warning: layer 'n2'" in out and "u wraps" in out
    assert "against floating point, reset by subtraction" in out
