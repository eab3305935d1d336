"""Threshold calibration on sample data (forward passes only) and its statistics.

``calibrate(graph, x, ...)`` is the pipeline step: it sets the thresholds of
every IFNeuron layer (method ``cltb`` by default, see ``methods``) and returns
the calibration record for the artifact (``meta["calibration"]``) with the
per-layer statistics and the readout delay estimate t0 (``stats``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.calibrate.data import calibration_inputs
from snnc.compiler.calibrate.loop import calibrate_thresholds, default_schedule, with_thresholds
from snnc.compiler.calibrate.methods import METHODS, PERCENTILE_METHODS
from snnc.compiler.calibrate.stats import layer_statistics
from snnc.compiler.errors import CalibrationError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.base import PassResult

__all__ = ["calibrate", "calibrate_thresholds", "calibration_inputs", "layer_statistics", "METHODS",
           "default_schedule", "with_thresholds", "check_alive"]


def calibrate(graph: Graph, calib, method: str = "cltb", iters: Optional[int] = None,
              batch_size: Optional[int] = None, percentile: float = 99.9,
              preprocessing: Optional[dict] = None) -> PassResult:
    """Pipeline step: calibrated graph, change log and ``info["calibration"]`` record.

    Raises CalibrationError when a whole layer is dead (see :func:`check_alive`).
    """
    x, source = calibration_inputs(calib, graph.inputs[0].shape, preprocessing)
    theta, k, b = calibrate_thresholds(graph, x, method, iters, batch_size, percentile)
    check_alive(theta, x, source)
    out = with_thresholds(graph, theta)
    stats = layer_statistics(out, x, batch_size=b)
    record = {"method": method, "iters": k, "batch_size": b, "samples": int(len(x)), "data": source,
              "stats_samples": stats["samples"], "t0": stats["t0"], "layers": stats["layers"]}
    if method in PERCENTILE_METHODS:
        record["percentile"] = float(percentile)
    dead = sum(s["dead_channels"] for s in stats["layers"].values())
    changes = [f"calibrated {len(theta)} neuron layers with {method}: {k} iterations of batch {b} "
               f"on {len(x)} samples from {source}; {dead} dead channel(s); t0 = {stats['t0']:.2f} steps"]
    return PassResult(out, changes, {"calibration": record})


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
