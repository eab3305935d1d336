"""Fast simulator vs the step-by-step oracle, closed forms, convergence, readout window and bad input."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import (
    Add, AvgPool2d, ChannelAffine, Concat, Conv2d, Flatten, Graph, IFNeuron, Input, Linear, MaxPool2d,
)


def dyadic(rng, shape, lo=-8, hi=8, scale=16):
    return (rng.integers(lo, hi + 1, size=shape) / scale).astype(np.float32)


def neuron(c, reset="subtract", theta=1.0):
    return IFNeuron(np.full(c, theta, np.float32), np.full(c, theta / 2, np.float32), reset)


def feature_graph(rng, reset="subtract", pool_mode="pre-neuron") -> Graph:
    """conv, grouped conv, linear, avg pool, max pool (static and dynamic), ChannelAffine skip, concat, flatten."""
    c = lambda o, i, k, **kw: Conv2d(dyadic(rng, (o, i, k, k)), dyadic(rng, (o,), -2, 2), **kw)
    return Graph.build([
        ("x", Input((2, 8, 8)), []),
        ("c1", c(6, 2, 3, padding=(1, 1, 1, 1)), ["x"]),
        ("p1", MaxPool2d(mode=pool_mode), ["c1"]),                        # constant current
        ("n1", neuron(6, reset), ["p1"]),
        ("c2", c(6, 3, 3, padding=(1, 1, 1, 1), groups=2), ["n1"]),
        ("n2", neuron(6, reset, 0.75), ["c2"]),
        ("c3", c(6, 6, 1), ["n2"]),
        ("g", ChannelAffine(dyadic(rng, (6,), 4, 16), np.zeros(6, np.float32)), ["n1"]),
        ("a", Add(), ["c3", "g"]),
        ("n3", neuron(6, reset), ["a"]),
        ("c4", c(4, 6, 3, padding=(1, 1, 1, 1)), ["n3"]),
        ("p4", MaxPool2d(mode=pool_mode), ["c4"]),                        # time-varying current
        ("n4", neuron(4, reset), ["p4"]),
        ("ap", AvgPool2d(), ["n3"]),
        ("cat", Concat(), ["n4", "ap"]),
        ("f", Flatten(), ["cat"]),
        ("l1", Linear(dyadic(rng, (12, 40)), dyadic(rng, (12,), -2, 2)), ["f"]),
        ("n5", neuron(12, reset), ["l1"]),
        ("out", Linear(dyadic(rng, (5, 12)), dyadic(rng, (5,))), ["n5"]),
    ], ["out"])


def dyadic_input(rng, n, shape=(2, 8, 8)):
    return dyadic(rng, (n,) + shape, 0, 16)


import pytest

from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import DataError, SimulationError, UsageError
from snnc.compiler.execute import run as ann_run
from snnc.runtime.numpy_sim import simulate
from snnc.runtime.numpy_sim.reference import step_by_step
from ..oracles import abs_op, assert_f32_sums_close, conv_terms


# ---- fast simulator == step-by-step oracle (bitwise spikes on dyadic graphs) -------------------

@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("pool_mode", ["pre-neuron", "cumulative"])
@pytest.mark.parametrize("seed", [0, 1])
def test_identical_spikes_to_step_by_step(reset, pool_mode, seed):
    rng = np.random.default_rng(seed)
    g = feature_graph(rng, reset, pool_mode)
    x = dyadic_input(rng, 5)
    T = 20
    spikes, trace = step_by_step(g, x, T)
    # odd chunk and batch sizes: state must carry across chunks and batches
    r = simulate(g, x, T=T, batch_size=2, time_chunk=3, record=("spikes", "output"), show_progress=False)
    for name, s in spikes.items():
        assert s.any(), f"layer {name} never fires: the test graph is degenerate"
        np.testing.assert_array_equal(r.records["spikes"][name], s, err_msg=name)
    np.testing.assert_array_equal(r.records["output"], trace)
    for layer in r.activity.layers:   # per-sample spike counts per step
        np.testing.assert_allclose(layer.spikes_per_step, spikes[layer.name].reshape(T, -1).sum(1) / 5)


@pytest.mark.parametrize("min_k", [None, 0])
def test_default_chunking_matches_oracle(min_k, monkeypatch):
    if min_k is not None:   # route every conv through the simulator's own im2col kernel
        import snnc.runtime.numpy_sim.fastops as fastops
        monkeypatch.setattr(fastops, "MIN_K", min_k)
    rng = np.random.default_rng(3)
    g = feature_graph(rng, "subtract", "cumulative")
    x = dyadic_input(rng, 7)
    spikes, _ = step_by_step(g, x, 33)
    r = simulate(g, x, T=[8, 33], record=("counts",), show_progress=False)
    for name, s in spikes.items():
        np.testing.assert_array_equal(r.records["counts"][name], s.sum(0))


# ---- a single IF neuron against its closed form ------------------------------------------------

def single_neuron_graph(z_count, theta, reset):
    return Graph.build([("x", Input((z_count,)), []), ("n", neuron(z_count, reset, theta), ["x"]),
                        ("out", Linear(np.eye(z_count, dtype=np.float32), None), ["n"])], ["out"])


@pytest.mark.parametrize("theta", [1.0, 2.0, 0.75])
def test_single_neuron_subtract_closed_form(theta):
    """v(t) = theta/2 + t z - theta N(t) stays in [0, theta) for 0 <= z <= theta (one spike per step
    suffices), hence N(t) = floor((t z + theta/2) / theta)."""
    z = (np.arange(0, 65) / 64 * theta).astype(np.float32)          # exact grid on [0, theta]
    T = 96
    r = simulate(single_neuron_graph(z.size, theta, "subtract"), z[None], T=T, record=("spikes",),
                 show_progress=False)
    n_t = np.cumsum(r.records["spikes"]["n"][:, 0], axis=0)           # (T, neurons)
    t = np.arange(1, T + 1)[:, None]
    np.testing.assert_array_equal(n_t, np.floor((t * z.astype(np.float64) + theta / 2) / theta))


def test_single_neuron_reset_zero_closed_form():
    """Reset to zero, v(0) = theta/2: first spike at t1 = ceil(theta / (2z)), then one every
    p = ceil(theta / z) steps: N(T) = 1 + floor((T - t1) / p) for T >= t1 (residual charge lost)."""
    theta, T = 1.0, 64
    z = (np.arange(1, 65) / 64).astype(np.float32)
    r = simulate(single_neuron_graph(z.size, theta, "zero"), z[None], T=T, record=("spikes",),
                 show_progress=False)
    n_t = np.cumsum(r.records["spikes"]["n"][:, 0], axis=0)
    t1, p = np.ceil(theta / (2 * z.astype(np.float64))), np.ceil(theta / z.astype(np.float64))
    t = np.arange(1, T + 1)[:, None]
    np.testing.assert_array_equal(n_t, np.where(t >= t1, 1 + np.floor((t - t1) / p), 0))
    # the 0.77 example of algorithms.md: fires every second step instead of 77% of them
    r = simulate(single_neuron_graph(1, 1.0, "zero"), np.array([[0.77]], np.float32), T=100,
                 record=("counts",), show_progress=False)
    assert r.records["counts"]["n"][0, 0] == 50


# ---- rates approach the clip-ANN ---------------------------------------------------------------

def _rates_vs_clip_ann(g, x, Ts):
    ann = ann_run(g, x, keep="all")
    errs = {}
    for T in Ts:
        r = simulate(g, x, T=T, record=("counts",), show_progress=False)
        errs[T] = {}
        for node in g.of_type(IFNeuron):
            theta = node.op.threshold.reshape((1, -1) + (1,) * (len(node.shape) - 1))
            rate = r.records["counts"][node.name] / T * theta
            errs[T][node.name] = np.abs(rate - ann[node.name]) / theta
    return errs


def test_rates_approach_clip_ann():
    rng = np.random.default_rng(5)
    g = feature_graph(rng, "subtract", "cumulative")
    x = rng.random((20, 2, 8, 8)).astype(np.float32)
    errs = _rates_vs_clip_ann(g, x, [16, 64, 256])
    for T, e in errs.items():
        # constant-current layer: |N/T - clip(z, 0, theta)/theta| <= 1/(2T) exactly
        assert e["n1"].max() <= 0.5 / T + 1e-6
    for name in ("n2", "n3", "n4", "n5"):
        means = [errs[T][name].mean() for T in (16, 64, 256)]
        assert means[2] < means[0] and means[2] < 0.02, (name, means)


def test_cumulative_pool_converges_pre_neuron_pool_is_biased():
    """Max pool over a fluctuating current: the cumulative pool's rate tends to clip(max z);
    the pre-neuron pool overestimates (E[max I(t)] >= max E[I(t)]) and plateaus."""
    rng = np.random.default_rng(7)
    errs = {}
    for mode in ("pre-neuron", "cumulative"):
        g = feature_graph(np.random.default_rng(7), "subtract", mode)
        x = rng.random((20, 2, 8, 8)).astype(np.float32)
        e = _rates_vs_clip_ann(g, x, [32, 512])
        errs[mode] = {T: float(e[T]["n4"].mean()) for T in e}
    assert errs["cumulative"][512] < 0.01
    assert errs["cumulative"][512] < errs["cumulative"][32]
    assert errs["pre-neuron"][512] > 3 * errs["cumulative"][512]


# ---- readout window ----------------------------------------------------------------------------

def test_delayed_readout_is_the_window_mean_of_the_oracle_trace():
    rng = np.random.default_rng(2)
    g = feature_graph(rng)
    x = dyadic_input(rng, 4)
    art = Artifact(g, g, {"readout": {"mode": "fixed", "delay": 6}})
    Ts = [4, 8, 16, 40]
    r = simulate(art, x, T=Ts, show_progress=False)
    _, trace = step_by_step(g, x, 40)
    assert r.delays == {4: 3, 8: 6, 16: 6, 40: 6}     # fixed: min(D, T - 1)
    for T in Ts:
        D = r.delays[T]
        window = trace[D:T].astype(np.float64)   # a mean of T - D float32 steps: T - D terms and a division
        assert_f32_sums_close(r.logits[T], window.mean(0), T - D + 1, np.abs(window).mean(0), f"T={T}")
    r0 = simulate(g, x, T=Ts, delay=3, show_progress=False)    # bare graph, explicit delay
    window = trace[3:16].astype(np.float64)
    assert_f32_sums_close(r0.logits[16], window.mean(0), 14, np.abs(window).mean(0), "delay 3")
    auto = Artifact(g, g, {"readout": {"mode": "auto", "t0": 9.7}})
    assert simulate(auto, x, T=[8, 32], show_progress=False).delays == {8: 4, 32: 9}


@pytest.mark.parametrize("T, t0, fixed, auto_D, fixed_D", [
    (1, 9.7, 5, 0, 0), (4, 9.7, 5, 0, 3), (5, 9.7, 5, 1, 4), (6, 9.7, 5, 2, 5), (13, 9.7, 5, 9, 5),
    (40, 0.4, 0, 0, 0), (40, 39.9, 100, 36, 39),
])
def test_one_readout_rule_for_artifact_and_simulate(T, t0, fixed, auto_D, fixed_D, caplog):
    """auto: D = clamp(floor(t0), 0, T - 4); fixed (compiled or given to simulate): D = min(D, T - 1),
    with a warning naming the T where it was clamped (algorithms.md section 6, snnc.compiler.readout)."""
    rng = np.random.default_rng(2)
    g = feature_graph(rng)
    x = dyadic_input(rng, 2)
    auto = Artifact(g, g, {"readout": {"mode": "auto", "t0": t0}})
    compiled = Artifact(g, g, {"readout": {"mode": "fixed", "delay": fixed}})
    assert auto.readout_delay(T) == auto_D and compiled.readout_delay(T) == fixed_D
    clamped = fixed > T - 1
    for model, delay, want, warns in ((auto, None, auto_D, False), (compiled, None, fixed_D, clamped),
                                      (auto, fixed, fixed_D, clamped), (g, fixed, fixed_D, clamped),
                                      (g, None, 0, False)):
        caplog.clear()
        assert simulate(model, x, T=T, delay=delay, show_progress=False).delays == {T: want}
        warned = [r.message for r in caplog.records if "clamped" in r.message]
        assert bool(warned) == warns
        if warned:
            assert f"T={T}" in warned[0] and str(fixed) in warned[0]


def test_accuracy_and_activity_fields():
    rng = np.random.default_rng(4)
    g = feature_graph(rng)
    x = dyadic_input(rng, 6)
    y = np.array([0, 1, 2, 3, 4, 0])
    r = simulate(g, x, T=[8, 16], y=y, show_progress=False)
    assert r.accuracy == {T: float(np.mean(r.predictions(T) == y)) for T in (8, 16)}
    act = r.activity
    assert act.T == 16 and act.samples == 6 and act.source == "numpy"
    assert [l.name for l in act.layers] == ["n1", "n2", "n3", "n4", "n5"]
    assert act.first_layer_macs == 6 * 64 * 2 * 9 and act.output_neurons == 5
    assert act.accuracy == r.accuracy and all(len(l.sop_per_step) == 16 for l in act.layers)


# ---- bad input ---------------------------------------------------------------------------------

def test_bad_input():
    rng = np.random.default_rng(0)
    g = feature_graph(rng)
    with pytest.raises(DataError, match=r"\(3, 1, 28, 28\).*\(2, 8, 8\)"):
        simulate(g, np.zeros((3, 1, 28, 28), np.float32), T=8)
    for T in (0, -3, [8, 0], 2.5, []):
        with pytest.raises(UsageError, match="positive"):
            simulate(g, dyadic_input(rng, 2), T=T)
    with pytest.raises(UsageError):
        simulate(g, dyadic_input(rng, 2), T=8, batch_size=0)


def test_memory_estimate_refuses_before_allocating():
    rng = np.random.default_rng(0)
    g = feature_graph(rng)
    x = dyadic_input(rng, 64)
    with pytest.raises(SimulationError, match=r"batch size of at most (\d+)") as e:
        simulate(g, x, T=64, batch_size=64, memory_limit=200_000)
    fit = int(e.value.args[0].split("at most ")[1].split()[0])
    assert 0 < fit < 64
    simulate(g, x[:fit], T=64, batch_size=fit, memory_limit=200_000, show_progress=False)  # it does fit
    with pytest.raises(SimulationError, match=r"time chunk of at most (\d+) steps?"):
        simulate(g, x, T=64, batch_size=8, time_chunk=64, memory_limit=1_000_000)
    # a time chunk longer than T is capped at T before the check: 8 steps fit where 10^8 would not
    r = simulate(g, x[:2], T=8, time_chunk=10 ** 8, memory_limit=1_000_000, record=("counts",), show_progress=False)
    np.testing.assert_array_equal(r.records["counts"]["n5"], simulate(g, x[:2], T=8, record=("counts",),
                                                                      show_progress=False).records["counts"]["n5"])
    # not even one sample fits: no "batch size of at most 0", but what it needs and what to do
    with pytest.raises(SimulationError) as e:
        simulate(g, x, T=8, memory_limit=2_000)
    msg = str(e.value)
    assert "at most 0" not in msg and "even one sample" in msg.lower() and "more RAM" in msg
    # full spike trains of 64 samples x 64 steps x 316 neurons (1.3 MB) are refused before allocation
    with pytest.raises(SimulationError, match="results alone"):
        simulate(g, x, T=64, batch_size=8, record=("spikes",), memory_limit=1_000_000)


# ---- the simulator's batched kernels equal the executor's ----------------------------------------

@pytest.mark.parametrize("kw", [dict(), dict(stride=(2, 1), padding=(1, 0, 2, 1)), dict(dilation=(2, 2), padding=(2, 2, 2, 2)),
                                dict(stride=(3, 3), padding=(1, 1, 1, 1)), dict(groups=2)])
def test_fast_conv_matches_executor(kw):
    from snnc.compiler.execute import apply
    from snnc.runtime.numpy_sim.fastops import run_op
    rng = np.random.default_rng(0)
    op = Conv2d(rng.standard_normal((6, 32 // kw.get("groups", 1), 3, 3)).astype(np.float32),
                rng.standard_normal(6).astype(np.float32), **kw)
    x = rng.standard_normal((5, 32, 9, 8)).astype(np.float32)
    assert_f32_sums_close(run_op(op, x), apply(op, x), conv_terms(op), apply(abs_op(op), np.abs(x)))


@pytest.mark.parametrize("kw", [dict(), dict(kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), ceil_mode=True),
                                dict(kernel=(3, 2), stride=(1, 2), dilation=(2, 1)), dict(kernel=(2, 2), stride=(2, 2), ceil_mode=True)])
def test_fast_maxpool_matches_executor(kw):
    from snnc.compiler.execute import apply
    from snnc.runtime.numpy_sim.fastops import run_op
    x = np.random.default_rng(1).standard_normal((3, 2, 9, 7)).astype(np.float32)
    op = MaxPool2d(**kw)
    np.testing.assert_array_equal(run_op(op, x), apply(op, x))
