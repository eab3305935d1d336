"""Threshold calibration on sample data (forward passes only) and its statistics.

``calibrate(graph, x, ...)`` is the pipeline step: it sets the thresholds of
every IFNeuron layer (method ``cltb`` by default, see ``methods``) and returns
the calibration record for the artifact (``meta["calibration"]``) with the
per-layer statistics and the readout delay estimate t0 (``stats``).
"""
from __future__ import annotations

from typing import Optional

from snnc.compiler.calibrate.data import calibration_inputs
from snnc.compiler.calibrate.loop import calibrate_thresholds, default_schedule, with_thresholds
from snnc.compiler.calibrate.methods import METHODS, PERCENTILE_METHODS
from snnc.compiler.calibrate.stats import layer_statistics
from snnc.compiler.ir import Graph
from snnc.compiler.passes.base import PassResult

__all__ = ["calibrate", "calibrate_thresholds", "calibration_inputs", "layer_statistics", "METHODS",
           "default_schedule", "with_thresholds"]


def calibrate(graph: Graph, calib, method: str = "cltb", iters: Optional[int] = None,
              batch_size: Optional[int] = None, percentile: float = 99.9) -> PassResult:
    """Pipeline step: calibrated graph, change log and ``info["calibration"]`` record."""
    x, source = calibration_inputs(calib, graph.inputs[0].shape)
    theta, k, b = calibrate_thresholds(graph, x, method, iters, batch_size, percentile)
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
