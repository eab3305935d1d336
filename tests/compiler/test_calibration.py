"""Calibration against closed forms: the (c)ltb update step by step, max, percentile, statistics, t0.

Oracles are written here from algorithms.md section 5/6 with explicit
per-channel loops, independent of snnc.compiler.calibrate.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from snnc.compiler.calibrate import calibrate, calibrate_thresholds, default_schedule, layer_statistics
from snnc.compiler.calibrate.data import calibration_inputs
from snnc.compiler.calibrate.loop import MAX_ITERS, TOL, WINDOW, batch_indices, run_calibration
from snnc.compiler.calibrate.methods import percentile_linear
from snnc.compiler.errors import CalibrationError, DataError
from snnc.compiler.ir import Conv2d, Graph, IFNeuron, Input

from ..oracles import EPS32, assert_f32_sums_close

INF = np.inf


def two_layer(rng, c=3, o=4, hw=5):
    """x -> IF(x) -> 1x1 conv -> IF: the first layer sees z = x itself."""
    wt = rng.standard_normal((o, c, 1, 1)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) * 0.1
    g = Graph.build([("x", Input(shape=(c, hw, hw)), []),
                     ("n1", IFNeuron(threshold=np.full(c, INF, np.float32), v_init=np.zeros(c, np.float32)), ["x"]),
                     ("conv", Conv2d(weight=wt, bias=b), ["n1"]),
                     ("n2", IFNeuron(threshold=np.full(o, INF, np.float32), v_init=np.zeros(o, np.float32)), ["conv"])],
                    ["n2"])
    return g, wt[:, :, 0, 0].astype(np.float64), b.astype(np.float64)


def stream(n, k_iters, bsz):
    """The documented batch order: epochs, each a permutation of 0..n-1 from default_rng((0, epoch))."""
    epochs = k_iters * bsz // n + 1
    return np.concatenate([np.random.default_rng((0, e)).permutation(n) for e in range(epochs)])


def oracle(x, wt, b, k_iters, bsz, channelwise, history=None):
    n = len(x)
    th1, th2 = np.zeros(x.shape[1]), np.zeros(wt.shape[0])
    order = stream(n, k_iters, bsz)

    def step(th, z):
        if not channelwise:
            t = th[0]
            return np.full_like(th, t + np.mean(2 * (z - t) * (z > t)))
        return np.array([th[c] + np.mean(2 * (z[:, c] - th[c]) * (z[:, c] > th[c])) for c in range(len(th))])

    for k in range(k_iters):
        xb = x[order[k * bsz:(k + 1) * bsz] if bsz < n else np.arange(n)].astype(np.float64)
        th1 = step(th1, xb)
        y1 = np.stack([np.clip(xb[:, c], 0, th1[c]) for c in range(len(th1))], axis=1)
        z2 = np.einsum("oc,nchw->nohw", wt, y1) + b[None, :, None, None]
        th2 = step(th2, z2)
        if history is not None:
            history.append((th1.copy(), th2.copy()))
    return th1, th2


def _ltb_close(th, e1, e2, x, wt, b, iters, bsz, method):
    """float32 calibration vs the float64 oracle. Each update th += mean(2 (z - th)+) is a float32 mean of
    m terms (m = batch x positions per channel, x channels for ltb) of size at most 2 (|z| + |th|), after
    the conv's 4 terms for n2; an update is non-expanding in th (its slope 1 - 2 P(z > th) is in [-1, 1]),
    so the errors of ``iters`` updates add up: iters (m + 6) eps32 (2 max|z| + 3 |th|)."""
    m = bsz * x[0].size // x.shape[1] * (1 if method == "cltb" else x.shape[1])
    z1 = float(np.abs(x).max())
    z2 = float((np.abs(wt).sum(1) * max(z1, float(np.max(e1))) + np.abs(b)).max())
    for got, want, z in ((th["n1"], e1, z1), (th["n2"], e2, z2)):
        assert_f32_sums_close(got, want, iters * (m + 6), 2 * z + 3 * np.abs(want), "LTB thresholds")


@pytest.mark.parametrize("method", ["cltb", "ltb"])
@pytest.mark.parametrize("k_iters,bsz", [(1, 7), (3, 7), (5, 9)])
def test_ltb_update_matches_formula_step_by_step(rng, method, k_iters, bsz):
    g, wt, b = two_layer(rng)
    x = rng.standard_normal((20, 3, 5, 5)).astype(np.float32)
    th, k, bb = calibrate_thresholds(g, x, method, iters=k_iters, batch_size=bsz)
    e1, e2 = oracle(x, wt, b, k_iters, bsz, channelwise=method == "cltb")
    _ltb_close(th, e1, e2, x, wt, b, k_iters, bsz, method)
    assert (k, bb) == (k_iters, bsz)
    if k_iters == 1:  # first step: theta = 2 * mean(ReLU(z))
        first = 2 * np.maximum(x[stream(20, 1, bsz)[:bsz]], 0).astype(np.float64).mean(axis=(0, 2, 3) if method == "cltb" else None)
        terms = bsz * x[0].size // (3 if method == "cltb" else 1)
        assert_f32_sums_close(th["n1"], np.broadcast_to(first, (3,)), terms + 2, first)


def test_default_runs_until_converged_with_batches_wrapping(rng):
    """Default: stop at the first k where every layer moved <= tol (relative, L2) over the last 20 batches."""
    g, wt, b = two_layer(rng)
    x = rng.standard_normal((12, 3, 5, 5)).astype(np.float32)
    r = run_calibration(g, x, "cltb", batch_size=5)
    assert r.converged and r.batch_size == 5 and 20 < r.iters < MAX_ITERS
    hist = []
    e1, e2 = oracle(x, wt, b, r.iters, 5, channelwise=True, history=hist)
    _ltb_close(r.theta, e1, e2, x, wt, b, r.iters, 5, "cltb")

    def moved(k):  # after k iterations (1-based): every layer's relative change over the window
        return [np.linalg.norm(hist[k - 1][i] - hist[k - 1 - WINDOW][i]) / np.linalg.norm(hist[k - 1][i])
                for i in range(2)]
    assert max(moved(r.iters)) <= TOL < max(moved(r.iters - 1))
    assert r.forwards_per_sample == pytest.approx(r.iters * 5 / 12)
    assert all(v["converged"] and v["at"] <= r.iters for v in r.layers.values())


def test_fixed_iters_run_exactly_and_report_convergence(rng):
    g, _, _ = two_layer(rng)
    x = rng.standard_normal((12, 3, 5, 5)).astype(np.float32)
    r = run_calibration(g, x, "cltb", iters=10, batch_size=5)
    assert r.iters == 10 and not r.converged  # fewer batches than one window: cannot have converged
    assert not any(v["converged"] for v in r.layers.values())


@pytest.mark.parametrize("n,b", [(12, 5), (10, 4), (7, 3)])
def test_batches_are_epochs_of_permutations(n, b):
    """K larger than the data wraps without bias: each sample equally often per epoch, in a seeded order."""
    k_iters = 3 * n  # k_iters * b = 3 n b: exactly 3 b epochs
    seen = np.concatenate([batch_indices(n, k, b) for k in range(k_iters)])
    np.testing.assert_array_equal(np.bincount(seen, minlength=n), np.full(n, 3 * b))
    for e in range(3):
        assert sorted(seen[e * n:(e + 1) * n]) == list(range(n))
    np.testing.assert_array_equal(seen, stream(n, k_iters, b)[:len(seen)])


def test_max_equals_data_maximum(rng):
    g, _, _ = two_layer(rng)
    x = rng.standard_normal((30, 3, 5, 5)).astype(np.float32)
    th, _, _ = calibrate_thresholds(g, x, "max", iters=3, batch_size=10)
    np.testing.assert_array_equal(th["n1"], np.full(3, x.max()))   # a selection: nothing is rounded


@pytest.mark.parametrize("p", [99.9, 99.99, 50.0])
def test_percentile_matches_numpy_running_max(rng, p):
    g, _, _ = two_layer(rng)
    x = rng.standard_normal((30, 3, 5, 5)).astype(np.float32)
    th, _, _ = calibrate_thresholds(g, x, "percentile", iters=3, batch_size=10, percentile=p)
    order = stream(30, 3, 10)
    expect = max(np.percentile(np.maximum(x[order[i * 10:(i + 1) * 10]], 0), p) for i in range(3))
    np.testing.assert_allclose(th["n1"], np.full(3, expect), rtol=EPS32, atol=0)   # one float32 rounding


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2048, 300_000),
       shape=st.sampled_from(["normal", "relu", "ties", "descending", "ascending", "constant"]),
       p=st.one_of(st.sampled_from([99.9, 99.99, 99.999, 99.0, 90.0, 50.0, 100.0, 0.0]), st.floats(0.0, 100.0)))
def test_percentile_linear_is_numpy_bit_for_bit(seed, n, shape, p):
    """The sampled-bound percentile equals np.percentile exactly, whatever the order and ties."""
    a = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    a = {"normal": a, "relu": np.maximum(a, 0), "ties": np.round(a * 2) / 2, "descending": -np.sort(a),
         "ascending": np.sort(a), "constant": np.zeros_like(a)}[shape]
    assert percentile_linear(a, p) == float(np.percentile(a, p))


def test_channel_percentile_fast_path_equals_numpy_per_row(rng):
    """cpercentile on channels of >= 4096 elements (the sampled path) equals numpy's percentile along axis 1."""
    from snnc.compiler.calibrate.methods import update_cpercentile
    r = np.maximum(rng.standard_normal((16, 8, 24, 24)), 0).astype(np.float32)  # 9216 elements per channel
    r[:, 3] *= 5.0
    theta = np.zeros(8)
    per_channel = np.moveaxis(r, 1, 0).reshape(8, -1)
    for p in (99.9, 99.99, 90.0):
        assert np.array_equal(update_cpercentile(theta, r, p), np.percentile(per_channel, p, axis=1))


def test_percentile_linear_nan_gives_nan(rng):
    a = rng.standard_normal(100_000).astype(np.float32)
    a[7] = np.nan
    assert np.isnan(percentile_linear(a, 99.9)) and np.isnan(np.percentile(a, 99.9))


@pytest.mark.parametrize("p", [99.9, 50.0])
def test_channel_percentile_matches_per_channel_loop(rng, p):
    g, _, _ = two_layer(rng)
    x = (rng.standard_normal((30, 3, 5, 5)) * np.array([1.0, 3.0, 0.2]).reshape(1, 3, 1, 1)).astype(np.float32)
    th, _, _ = calibrate_thresholds(g, x, "cpercentile", iters=3, batch_size=10, percentile=p)
    order = stream(30, 3, 10)
    expect = [max(np.percentile(np.maximum(x[order[i * 10:(i + 1) * 10], c], 0), p) for i in range(3))
              for c in range(3)]
    np.testing.assert_allclose(th["n1"], expect, rtol=EPS32, atol=0)   # one float32 rounding


def test_relu6_cap_applies_to_calibrated_threshold(rng):
    g = Graph.build([("x", Input(shape=(2,)), []),
                     ("n", IFNeuron(threshold=np.array([0.5, 50.0], np.float32), v_init=np.zeros(2, np.float32)), ["x"])],
                    ["n"])
    x = (rng.standard_normal((40, 2)) * 3).astype(np.float32)
    th, _, _ = calibrate_thresholds(g, x, "max", iters=1, batch_size=40)
    np.testing.assert_array_equal(th["n"], [0.5, x.max()])   # the cap and a selection: nothing is rounded


def test_default_schedule():
    # (budget K, B): the budget is MAX_ITERS whatever N (a small set is revisited: batches wrap)
    assert default_schedule(1000, None, None) == (MAX_ITERS, 16)
    assert default_schedule(10, None, None) == (MAX_ITERS, 10)
    assert default_schedule(10 ** 6, None, None) == (MAX_ITERS, 16)
    assert default_schedule(1000, 7, 32) == (7, 32)
    assert default_schedule(1000, None, None, per_sample=64 * 2 ** 20) == (MAX_ITERS, 8)  # 512 MiB budget


def test_statistics_closed_forms(rng):
    g = Graph.build([("x", Input(shape=(2, 3, 3)), []),
                     ("n", IFNeuron(threshold=np.array([1.0, 0.0], np.float32), v_init=np.zeros(2, np.float32)), ["x"])],
                    ["n"])
    x = rng.standard_normal((50, 2, 3, 3)).astype(np.float32)
    s = layer_statistics(g, x, batch_size=20)
    lay = s["layers"]["n"]
    r = np.maximum(x, 0)
    rate = np.concatenate([np.clip(x[:, 0], 0, 1).ravel(), np.zeros(x[:, 1].size)]).mean()
    assert lay["expected_rate"] == pytest.approx(rate, rel=1e-6)
    assert lay["activation_percentiles"]["99"] == pytest.approx(np.percentile(r, 99), rel=1e-6)
    assert lay["activation_percentiles"]["max"] == pytest.approx(r.max())
    assert lay["dead_channels"] == 1 and lay["threshold"]["max"] == 1.0
    mean_r = r[:, 0].mean(axis=0)  # channel 1 is dead (theta 0): excluded from the min
    t_first = np.min(0.5 * 1.0 / mean_r[mean_r > 0])
    assert lay["first_spike_steps"] == pytest.approx(t_first, rel=1e-6)
    assert s["t0"] == pytest.approx(t_first, rel=1e-6)


def test_t0_sums_over_layers(rng):
    g, _, _ = two_layer(rng)
    x = rng.standard_normal((40, 3, 5, 5)).astype(np.float32)
    res = calibrate(g, x, iters=2, batch_size=20)
    lay = res.info["calibration"]["layers"]
    assert res.info["calibration"]["t0"] == pytest.approx(lay["n1"]["first_spike_steps"] + lay["n2"]["first_spike_steps"])
    assert res.graph.node("n1").op.threshold.max() < INF


@pytest.mark.parametrize("bad,match", [
    (np.zeros((0, 3, 5, 5), np.float32), "no samples"),
    (np.zeros((4, 3, 5, 4), np.float32), "shape"),
    (np.zeros((4, 75), np.float32), "rank"),
    (np.array([["a"] * 75] * 4), "dtype"),
    (np.zeros((4, 3, 5, 5), np.int32), "dtype"),
    (np.full((4, 3, 5, 5), np.nan, np.float32), "NaN"),
    (np.full((4, 3, 5, 5), 5e4, np.float32), "normalis"),
    ("no/such/file.npy", "no such file"),
    (42, "must be an array"),
])
def test_bad_calibration_data(bad, match):
    with pytest.raises(DataError, match=match):
        calibration_inputs(bad, (3, 5, 5))


def test_nonfinite_activations_raise_calibration_error(rng):
    g, _, _ = two_layer(rng)
    wt = g.node("conv").op.weight.copy()
    wt[0, 0] = np.float32(3e38)
    spec = [(n.name, Conv2d(weight=wt, bias=n.op.bias) if n.name == "conv" else n.op, n.inputs) for n in g.nodes]
    g = Graph.build(spec, g.outputs)
    x = np.full((4, 3, 5, 5), 100.0, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow is the error, not a RuntimeWarning first
        with pytest.raises(DataError, match="'conv' \\(Conv2d\\) overflows float32"):
            calibrate_thresholds(g, x, "cltb", iters=1, batch_size=4)


def test_uint8_images_are_scaled(rng):
    raw = rng.integers(0, 256, (2, 3, 5, 5)).astype(np.uint8)
    x, name = calibration_inputs(raw, (3, 5, 5))
    assert x.dtype == np.float32 and np.array_equal(x, raw.astype(np.float32) / 255)
