"""The calibration loop in torch (compiler/calibrate/torch_loop.py) against the NumPy reference loop.

Replay oracle: the torch loop's thresholds after every batch k, theta_t(k),
are recorded; for each batch the NumPy executor runs the *reference* update
rule (``methods.METHODS``) from theta_t(k - 1) on the open graph, clipping
every layer at theta_t(k) (min cap) as the torch loop did. The two forward
passes then see the same thresholds, so their pre-activations z differ only
by float32 rounding: |dz| <= k * eps32 * sum|terms| (``oracles``: k the path's
terms, sum|terms| from the abs graph on |x|), and r = ReLU(z) inherits it.
One update then differs by at most (per channel c, pc = elements of c):

* cltb: theta + 2/pc sum_i (r_i - theta)+ is 2-Lipschitz in max_i |dr_i|, and
  each side sums pc terms (float32 per sample map of HW, float64 over the
  batch): 2 (max_c |dz| + HW eps32 max_c sum|terms|);
* ltb: the same over every element of the layer;
* max: max r is 1-Lipschitz: max |dz|.

Group boundaries (GROUP batches per forward pass) are crossed: K = GROUP + 4.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.calibrate import loop, torch_loop
from snnc.compiler.calibrate.methods import METHODS
from snnc.compiler.execute import run
from snnc.compiler.passes.pipeline import run_pipeline, steps_until

from ..oracles import EPS32, _run_unchecked, abs_graph, f32_sum_tol, path_terms

ROOT = Path(__file__).resolve().parents[2]


def suite_graph(name):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    suite = importlib.import_module("benchmarks.suite")
    import snnc
    g = snnc.load_onnx(str(suite.onnx_path(name)))
    return run_pipeline(g, steps_until("calibrate"), reset="subtract")[0], suite.data("valid", 300)[0]


def torch_history(open_g, x, caps, method, k, b):
    """theta_t after every batch of the torch loop (K batches, no early stop)."""
    hist = []

    def stop(i, theta):
        hist.append({n: t.copy() for n, t in theta.items()})
        return False
    theta, n_run = torch_loop.fit(open_g, x, caps, method, 99.9, k, b, stop, loop.sample_bytes(open_g))
    assert n_run == k and len(hist) == k
    for n in theta:
        np.testing.assert_array_equal(theta[n], hist[-1][n])
    return hist


def step_tol(method, dz_max, abs_max, hw):
    """The bound of the module docstring for one layer: per channel (C,) arrays of max |dz|, max sum|terms|."""
    if method == "cltb":
        return 2 * (dz_max + hw * EPS32 * abs_max)
    if method == "ltb":
        return np.full_like(dz_max, 2 * (dz_max.max() + hw * EPS32 * abs_max.max()))
    return np.full_like(dz_max, dz_max.max())


def channel_max(a):
    return np.moveaxis(a, 1, 0).reshape(a.shape[1], -1).max(axis=1)


@pytest.mark.parametrize("name,method", [("mobilenet", "cltb"), ("densenet", "cltb"), ("resnet", "ltb"),
                                         ("vgg", "max")])
def test_every_torch_step_is_the_reference_update(torch_one_thread, name, method):
    graph, x = suite_graph(name)
    open_g, caps = loop.open_graph(graph)
    k, b = torch_loop.GROUP + 4, 16
    hist = torch_history(open_g, x, caps, method, k, b)
    absg = abs_graph(open_g)
    for i in range(k):
        prev = hist[i - 1] if i else {n: np.zeros(len(c)) for n, c in caps.items()}
        xb = loop.batch(x, i, b)
        want = {}

        def hook(n, v):
            if n not in caps:
                return None
            want[n] = METHODS[method](prev[n], v.copy(), 99.9)
            return loop.clip_channels(v, np.minimum(hist[i][n], caps[n]))
        run(open_g, xb, hook=hook, engine="numpy")
        absv = _run_unchecked(absg, np.abs(xb))
        for n in caps:
            a = channel_max(absv[n])
            dz = f32_sum_tol(path_terms(open_g, n), a)
            hw = int(np.prod(open_g.node(n).shape[1:]))
            tol = step_tol(method, dz, a, hw)
            diff = np.abs(want[n] - hist[i][n])
            assert np.all(diff <= tol), (name, method, i, n, float(diff.max()), float(tol.min()))


def test_stopping_inside_a_group_returns_that_batch(torch_one_thread):
    graph, x = suite_graph("resnet")
    open_g, caps = loop.open_graph(graph)
    hist = torch_history(open_g, x, caps, "cltb", torch_loop.GROUP + 2, 16)
    stop_at = torch_loop.GROUP // 2

    def stop(i, theta):
        return i == stop_at
    theta, n_run = torch_loop.fit(open_g, x, caps, "cltb", 99.9, 100, 16, stop, loop.sample_bytes(open_g))
    assert n_run == stop_at + 1
    for n in caps:
        np.testing.assert_array_equal(theta[n], hist[stop_at][n])


def test_engine_choice_numpy_forced_and_default(torch_one_thread, monkeypatch, rng):
    from snnc.compiler.ir import Conv2d, Graph, Input, IFNeuron
    g = Graph.build([("x", Input(shape=(1, 6, 6)), []),
                     ("conv", Conv2d(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), None,
                                     padding=(1, 1, 1, 1)), ["x"]),
                     ("n", IFNeuron(threshold=np.full(3, np.inf, np.float32), v_init=np.zeros(3, np.float32)),
                      ["conv"])], ["n"])
    x = rng.random((40, 1, 6, 6), dtype=np.float32)
    monkeypatch.delenv("SNNC_ENGINE", raising=False)   # the default, even in a run that forces NumPy
    used = []
    real = torch_loop.fit
    monkeypatch.setattr(torch_loop, "fit", lambda *a, **k: used.append("torch") or real(*a, **k))
    t = loop.run_calibration(g, x, iters=5, batch_size=8)
    monkeypatch.setenv("SNNC_ENGINE", "numpy")
    n = loop.run_calibration(g, x, iters=5, batch_size=8)
    assert used == ["torch"]
    # one conv layer, nothing upstream: 5 steps of the one-step bound 2 (k + HW) eps32 sum|terms| (k = 9 + 1, HW = 36)
    tol = 5 * 2 * (10 + 36) * EPS32 * float(np.abs(g.node("conv").op.weight).sum() * x.max())
    np.testing.assert_allclose(t.theta["n"], n.theta["n"], rtol=0, atol=tol)
    assert (t.iters, t.batch_size) == (n.iters, n.batch_size) == (5, 8)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_wrong_input_shape_is_the_executors_data_error_on_both_engines(torch_one_thread, monkeypatch, rng, engine):
    from snnc.compiler.errors import DataError
    from snnc.compiler.ir import Conv2d, Graph, Input, IFNeuron
    if engine == "numpy":
        monkeypatch.setenv("SNNC_ENGINE", "numpy")
    g = Graph.build([("x", Input(shape=(1, 6, 6)), []),
                     ("conv", Conv2d(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), None), ["x"]),
                     ("n", IFNeuron(threshold=np.full(3, np.inf, np.float32), v_init=np.zeros(3, np.float32)),
                      ["conv"])], ["n"])
    with pytest.raises(DataError, match=r"input 'x' expects samples of shape \(1, 6, 6\)"):
        loop.run_calibration(g, rng.random((40, 1, 5, 6)), iters=3)
