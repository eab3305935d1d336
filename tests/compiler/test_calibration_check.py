"""Measured clipping (held-back slice or --val), --method auto and their errors and warnings."""
from __future__ import annotations

import logging

import numpy as np
import pytest

import snnc
from snnc.compiler.calibrate.auto import pick
from snnc.compiler.calibrate.check import holdout, measure
from snnc.compiler.data import Dataset
from snnc.compiler.errors import DataError
from snnc.compiler.execute import predict
from snnc.compiler.ir import Graph, IFNeuron, Input, Linear

from ..oracles import clip_ann
from .test_compile import ir_model


def test_holdout_is_a_fixed_disjoint_slice():
    fit, held = holdout(5000)
    assert len(held) == 500 and len(fit) == 4500 and not set(fit) & set(held)
    np.testing.assert_array_equal(holdout(5000)[1], held)
    assert len(holdout(10 ** 6)[1]) == 1000
    fit, held = holdout(150)  # too few: checked on the calibration data itself
    assert held is None and len(fit) == 150


def test_measure_against_independent_oracle(rng):
    """agreement / accuracy / clipped fraction from the unfolded ANN with min(ReLU(z), theta) at each layer."""
    wt = rng.standard_normal((4, 6)).astype(np.float32)
    g = Graph.build([("x", Input(shape=(6,)), []),
                     ("n", IFNeuron(threshold=np.full(6, np.inf, np.float32), v_init=np.zeros(6, np.float32)), ["x"]),
                     ("fc", Linear(weight=wt, bias=None), ["n"])], ["fc"])
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y = rng.integers(0, 4, 300)
    theta = {"n": np.linspace(0.2, 1.5, 6)}
    ann = np.maximum(x, 0) @ wt.T
    ann_pred = ann.argmax(1)
    rec = measure(g, theta, x, ann_pred, y)
    ref = clip_ann(g, {"n": theta["n"].astype(np.float32)}, x).argmax(1)
    assert rec["agreement"] == np.mean(ref == ann_pred) and rec["samples"] == 300
    assert rec["ann_accuracy"] == np.mean(ann_pred == y) and rec["clip_accuracy"] == np.mean(ref == y)
    assert rec["clipped"]["n"] == np.mean(x > theta["n"].astype(np.float32))
    assert rec["meets_target"] == (rec["agreement"] >= 0.995)


def test_pick_prefers_lowest_thresholds_that_meet_the_target():
    ok = {"agreement": 1.0, "clip_accuracy": 0.9, "meets_target": True}
    bad = {"agreement": 0.9, "clip_accuracy": 0.8, "meets_target": False}
    assert pick({"cltb": ok, "max": ok}) == "cltb"
    assert pick({"cltb": bad, "max": ok, "percentile": ok}) == "percentile"
    worse = {"agreement": 0.8, "clip_accuracy": 0.7, "meets_target": False}
    assert pick({"cltb": worse, "ltb": bad}) == "ltb"  # none meets it: the best agreement


def test_auto_falls_back_when_cltb_clips(rng):
    """One cltb step (theta = 2 mean ReLU(z)) clips; auto's fallback (max, one whole-set batch) does not."""
    x = rng.standard_normal((64, 2, 6, 6)).astype(np.float32)
    g = ir_model(rng)
    art = snnc.compile(g, x, iters=1, batch_size=64)
    cal = art.meta["calibration"]
    assert cal["requested"] == "auto" and cal["candidates"]["cltb"]["meets_target"] is False
    assert cal["method"] == "max" and cal["check"]["agreement"] == 1.0 and not cal["warnings"]
    assert cal["candidates"]["cltb"]["iters"] + sum(c["iters"] for m, c in cal["candidates"].items() if m != "cltb") <= 2
    assert "samples themselves" in cal["check"]["data"]
    assert set(cal["layers"]["r"]) >= {"clipped", "convergence"}


def test_unreachable_target_compiles_with_a_warning_naming_layers(rng, caplog):
    """Validation data far outside the calibration range: every method clips; compiled anyway, warned."""
    g = ir_model(rng)
    x = (rng.standard_normal((64, 2, 6, 6)) * 0.05).astype(np.float32)
    xv = (rng.standard_normal((300, 2, 6, 6)) * 20).astype(np.float32)
    val = Dataset(xv, predict(g, xv).argmax(1), "val array")
    with caplog.at_level(logging.WARNING):
        art = snnc.compile(g, x, val=val, batch_size=64)
    cal = art.meta["calibration"]
    assert not cal["check"]["meets_target"] and cal["check"]["data"] == "the 300 --val samples (val array)"
    assert "cltb" in cal["candidates"] and len(cal["candidates"]) >= 2  # fallbacks ran
    assert len(cal["warnings"]) == 1 and "layers clipping most: r." in cal["warnings"][0]
    assert "disagrees with the ANN on" in cal["warnings"][0]
    assert "cannot reach the agreement target with any method" in caplog.text


@pytest.mark.parametrize("val,match", [
    (np.zeros((10, 3, 6, 6), np.float32), "--val.*shape"),
    (np.ones((10, 2, 6, 6), np.float32) * np.arange(10).reshape(10, 1, 1, 1), "--val.*no labels"),
])
def test_bad_val_data_names_the_option(rng, val, match):
    x = rng.standard_normal((64, 2, 6, 6)).astype(np.float32)
    with pytest.raises(DataError, match=match):
        snnc.compile(ir_model(rng), x, val=val, iters=2, batch_size=16)
