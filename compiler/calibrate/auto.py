"""``--method auto`` (the default): one calibration method per network, chosen by measured clipping.

1. cltb, run until its thresholds converge (``loop``): K1 batches.
2. Its clip-ANN is measured on the check set (``check``). If it meets the
   target (argmax agreement with the ANN >= 99.5%),
   cltb is kept: channel-wise thresholds are the lowest that keep the
   clip-ANN, so they give the fastest spiking network (small T).
3. Otherwise the fallbacks run, cheapest first (``FALLBACKS``: max and
   percentile see the data's extremes within about one pass; ltb last), sharing
   a budget of K1 more batches, so auto costs at most 2x one calibration
   (plus one forward pass of the check set per candidate).
4. The first method in ``PREFERENCE`` (lowest thresholds first) that meets
   the target wins; if none does, the one with the highest agreement (then
   accuracy), and the caller warns, naming the layers and the loss.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.calibrate.check import measure
from snnc.compiler.calibrate.loop import TOL, CalibrationRun, run_calibration
from snnc.compiler.ir import Graph

PREFERENCE = ("cltb", "ltb", "percentile", "max")
FALLBACKS = ("max", "percentile", "ltb")


def choose_method(graph: Graph, x: np.ndarray, x_check: np.ndarray, ann_pred: np.ndarray,
                  y_check: Optional[np.ndarray], iters: Optional[int] = None, batch_size: Optional[int] = None,
                  percentile: float = 99.9, tol: float = TOL, statistics: bool = True) -> tuple[str, dict, dict]:
    """(chosen method, {method: CalibrationRun}, {method: check record}) for the candidates that ran.

    ``statistics``: each check's forward pass also collects the layer statistics (``check.measure``).
    """
    first = run_calibration(graph, x, "cltb", iters, batch_size, percentile, tol)
    runs: dict[str, CalibrationRun] = {"cltb": first}
    checks = {"cltb": measure(graph, first.theta, x_check, ann_pred, y_check, statistics=statistics)}
    budget = first.iters
    if not checks["cltb"]["meets_target"]:
        for method in FALLBACKS:
            if budget < 1:
                break
            r = run_calibration(graph, x, method, None, batch_size, percentile, tol, max_iters=budget)
            budget -= r.iters
            runs[method] = r
            checks[method] = measure(graph, r.theta, x_check, ann_pred, y_check, statistics=statistics)
    return pick(checks), runs, checks


def pick(checks: dict) -> str:
    """The first method in PREFERENCE that meets the target, else the best agreement (then accuracy)."""
    order = [m for m in PREFERENCE if m in checks]
    passing = [m for m in order if checks[m]["meets_target"]]
    if passing:
        return passing[0]
    return max(order, key=lambda m: (checks[m]["agreement"], checks[m]["clip_accuracy"] or 0.0, -order.index(m)))
