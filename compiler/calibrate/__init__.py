"""Threshold calibration on sample data (forward passes only) and its statistics.

``calibrate(graph, x, ...)`` is the pipeline step: it sets the thresholds of
every IFNeuron layer (method ``auto`` by default, see ``auto`` and ``methods``;
updates until converged, see ``loop``), measures the clip-ANN against the ANN
on held-back data (``check``) and returns
the calibration record for the artifact (``meta["calibration"]``) with the
per-layer statistics and the readout delay estimate t0 (``stats``).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from snnc.compiler.calibrate.auto import choose_method
from snnc.compiler.calibrate.check import (MIN_HOLDOUT_N, ann_predictions, describe_loss, holdout, measure,
                                           worst_layers)
from snnc.compiler.calibrate.data import calibration_dataset, calibration_inputs, validation_dataset
from snnc.compiler.calibrate.loop import (TOL, WINDOW, calibrate_thresholds, default_schedule, run_calibration,
                                          with_thresholds)
from snnc.compiler.calibrate.methods import METHODS, PERCENTILE_METHODS
from snnc.compiler.calibrate.stats import layer_statistics
from snnc.compiler.errors import CalibrationError
from snnc.compiler.execute import engine_name
from snnc.compiler.ir import Graph
from snnc.compiler.passes.base import PassResult

log = logging.getLogger(__name__)
METHOD_CHOICES = ("auto",) + tuple(METHODS)

__all__ = ["METHOD_CHOICES", "TOL", "run_calibration", "calibrate", "calibrate_thresholds", "calibration_inputs", "layer_statistics", "METHODS",
           "default_schedule", "with_thresholds", "check_alive"]


def calibrate(graph: Graph, calib, method: str = "auto", iters: Optional[int] = None,
              batch_size: Optional[int] = None, percentile: float = 99.9,
              preprocessing: Optional[dict] = None, val=None, tol: float = TOL) -> PassResult:
    """Pipeline step: calibrated graph, change log and ``info["calibration"]`` record.

    ``method="auto"`` chooses per network (``auto``); the thresholds are
    fitted on the calibration data minus a held-back slice (or on all of it
    when ``val`` data is given) and checked on the slice / ``val`` (``check``).
    The per-layer statistics and t0 come from the check's own forward pass on
    the held-back slice; with ``val`` (which only measures) from one pass over
    the first 512 calibration samples.
    Raises CalibrationError when a whole layer is dead (see :func:`check_alive`).
    """
    x, x_chk, y_chk, source, chk_name = split_data(graph, calib, preprocessing, val)
    ann_pred = ann_predictions(graph, x_chk)
    if method == "auto":
        chosen, runs, checks = choose_method(graph, x, x_chk, ann_pred, y_chk, iters, batch_size, percentile, tol,
                                             statistics=val is None)
    else:
        chosen, runs = method, {method: run_calibration(graph, x, method, iters, batch_size, percentile, tol)}
        checks = {method: measure(graph, runs[method].theta, x_chk, ann_pred, y_chk, statistics=val is None)}
    r, chk = runs[chosen], {**checks[chosen], "data": chk_name}
    check_alive(r.theta, x, source)
    out = with_thresholds(graph, r.theta)
    stats = chk.pop("statistics", None) or layer_statistics(out, x, batch_size=r.batch_size)
    for name, s in stats["layers"].items():
        s["clipped"], s["convergence"] = chk["clipped"][name], r.layers[name]
    record = {"method": chosen, "requested": method, "iters": r.iters, "batch_size": r.batch_size,
              "samples": int(len(x)), "data": source, "stats_samples": stats["samples"],
              "stats_data": chk_name if val is None else f"the first {stats['samples']} samples of {source}",
              "t0": stats["t0"],
              "convergence": {"converged": r.converged, "tol": float(tol), "window": WINDOW, "budget": r.budget,
                              "fixed_iters": iters is not None},
              "forwards_per_sample": sum(c.forwards_per_sample for c in runs.values()),
              "check": {k: v for k, v in chk.items() if k != "clipped"},
              "candidates": {m: {"agreement": c["agreement"], "clip_accuracy": c["clip_accuracy"],
                                 "meets_target": c["meets_target"], "iters": runs[m].iters} for m, c in checks.items()},
              "warnings": clipping_warnings(chk, checks, method), "layers": stats["layers"],
              "engine": engine_name("fast")}
    if chosen in PERCENTILE_METHODS:
        record["percentile"] = float(percentile)
    for w in record["warnings"]:
        log.warning("%s", w)
    return PassResult(out, [summary_line(record, r, method, chk_name)], {"calibration": record})


def split_data(graph: Graph, calib, preprocessing: Optional[dict], val) -> tuple:
    """(x to fit on, x_check, y_check or None, source name, check-set name): ``--val`` or a held-back slice."""
    shape = graph.inputs[0].shape
    x_all, y_all, source = calibration_dataset(calib, shape, preprocessing)
    if val is not None:
        x_chk, y_chk, name = validation_dataset(val, shape, preprocessing)
        return x_all, x_chk, y_chk, source, f"the {len(x_chk)} --val samples ({name})"
    fit, held = holdout(len(x_all))
    idx = fit if held is None else held
    name = (f"{len(idx)} samples held back from {source}" if held is not None
            else f"the {len(idx)} calibration samples themselves (fewer than {MIN_HOLDOUT_N}: none held back)")
    return x_all[fit], x_all[idx], None if y_all is None else y_all[idx], source, name


def summary_line(record: dict, r, method: str, chk_name: str) -> str:
    """The pass log's one line: method, iterations, convergence, cost, dead channels, t0, agreement."""
    dead = sum(s["dead_channels"] for s in record["layers"].values())
    conv = ("converged" if r.converged else "not converged (budget reached)" if not record["convergence"][
        "fixed_iters"] else "fixed K")
    return (f"calibrated {len(r.theta)} neuron layers with {record['method']}{' (auto)' if method == 'auto' else ''}: "
            f"{r.iters} iterations of batch {r.batch_size} ({conv}) on {record['samples']} samples from "
            f"{record['data']}; {record['forwards_per_sample']:.2f} forwards per sample; {dead} dead channel(s); "
            f"t0 = {record['t0']:.2f} steps; clip-ANN agreement {100 * record['check']['agreement']:.2f}% on {chk_name}")


def clipping_warnings(chk: dict, checks: dict, method: str) -> list:
    """A warning naming the layers and the loss when the chosen clip-ANN misses the agreement target."""
    if chk["meets_target"]:
        return []
    layers = ", ".join(worst_layers(chk)) or "(none clip; the loss comes from the check data)"
    tried = f" with any method (tried {', '.join(checks)})" if method == "auto" else f" with {method}"
    return [f"the clip-ANN cannot reach the agreement target{tried}: it {describe_loss(chk, chk['data'])}; "
            f"layers clipping most: {layers}. The network is compiled anyway; try --method max or more "
            f"calibration data"]


def check_alive(theta: dict, x: np.ndarray, source: str) -> None:
    """Raise CalibrationError for the first layer (topological order) whose every threshold is 0.

    theta_c = 0 for every channel c means ReLU(z) = 0 on all calibration
    samples: the layer never spikes, so nothing after it depends on the input.
    All-zero or all-negative data (a missing or wrong normalisation) does this.
    """
    for name, t in theta.items():
        if not np.any(t > 0):
            raise CalibrationError(
                f"neuron layer {name!r}: all {len(t)} channel(s) are dead (threshold 0: no positive "
                f"pre-activation on any of the {len(x)} calibration samples), so the network's output does "
                f"not depend on its input; check the calibration data {source} (values range over "
                f"[{float(x.min()):g}, {float(x.max()):g}]) and its normalisation: it must be preprocessed "
                f"as in training (--normalize / --mean / --std for image folders)")
