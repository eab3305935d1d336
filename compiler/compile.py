"""``snnc.compile``: ONNX model (or IR graph) + calibration data -> :class:`Artifact`.

Steps: import the model, reject non-finite weights, run the conversion
``PIPELINE`` (passes, calibration, threshold folding; verified after every
pass), then describe the result in the artifact's meta: target, source path
and sha256, options, pass log, calibration statistics, readout window, spike
comparison and snnc version. The same inputs give the same artifact bytes
(no timestamps, sorted JSON, fixed zip dates).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Optional, Union

import numpy as np

from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import HardwareError, ModelLoadError, UnsupportedModelError, UsageError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.pipeline import run_pipeline

log = logging.getLogger(__name__)
RESOURCE_HOOK = "snnc.compiler.analysis.resources"  # integration point: summary_table / summary


def load_model(model: Union[str, Path, Graph]) -> tuple[Graph, dict]:
    """The ANN graph and a source record {"path", "sha256"} (empty for an in-memory graph)."""
    if isinstance(model, Graph):
        return model.verify(), {"path": None, "sha256": None}
    path = Path(model)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file; pass an .onnx file or an IR Graph")
    from snnc.frontends.onnx import load_onnx
    graph = load_onnx(str(path))
    return graph, {"path": str(model), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def check_finite_weights(graph: Graph) -> None:
    for n in graph.nodes:
        for key, a in n.op.arrays().items():
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ModelLoadError(f"node {n.name!r} ({n.type}) has NaN or infinite values in {key!r}; "
                                     f"the model file is corrupt or was exported from a diverged training run")


def parse_delay(delay) -> Optional[int]:
    """None for "auto", else a non-negative integer delay."""
    if delay is None or delay == "auto":
        return None
    try:
        d = int(delay)
    except (TypeError, ValueError):
        raise UsageError(f"delay must be 'auto' or a non-negative integer, got {delay!r}") from None
    if d < 0 or str(d) != str(delay).strip():
        raise UsageError(f"delay must be 'auto' or a non-negative integer, got {delay!r}")
    return d


def check_options(method: str, pool_mode: str, reset: str, percentile: float) -> None:
    """Reject bad option values before any work is done."""
    from snnc.compiler.calibrate import METHODS
    from snnc.compiler.passes.init_membrane import RESETS
    from snnc.compiler.passes.pool_modes import POOL_MODES
    for name, value, allowed in [("method", method, tuple(METHODS)), ("pool_mode", pool_mode, POOL_MODES),
                                 ("reset", reset, RESETS)]:
        if value not in allowed:
            raise UsageError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if method in ("percentile", "cpercentile") and not 0.0 < float(percentile) <= 100.0:
        raise UsageError(f"percentile must be in (0, 100], got {percentile}")


def check_target(target: str) -> None:
    """Fail fast on an unknown hardware profile (when the hardware profiles are installed)."""
    try:
        from snnc.compiler.hardware import load_profile
    except ImportError:
        log.warning("hardware profiles unavailable; target %r not checked", target)
        return
    profile = load_profile(target)
    if not profile.is_snn:
        raise HardwareError(f"target {target!r} is an ANN profile (no neuromorphic cores); "
                            f"compile for a spiking target such as loihi2")


def compile(model, calib, target: str = "loihi2", method: str = "cltb", iters: Optional[int] = None,
            batch_size: Optional[int] = None, delay="auto", pool_mode: str = "auto",
            reset: str = "subtract", percentile: float = 99.9) -> Artifact:
    """Convert ``model`` (.onnx path or Graph) into a calibrated IF network; see ``snnc compile``."""
    from snnc import __version__
    fixed = parse_delay(delay)
    check_options(method, pool_mode, reset, percentile)
    check_target(target)
    ann, source = load_model(model)
    if len(ann.inputs) != 1:
        raise UnsupportedModelError(f"the model has {len(ann.inputs)} inputs; snnc converts single-input models")
    check_finite_weights(ann)
    snn, pass_log, info = run_pipeline(ann, calib=calib, method=method, iters=iters, batch_size=batch_size,
                                       percentile=percentile, pool_mode=pool_mode, reset=reset)
    cal = info["calibration"]
    readout = {"mode": "auto", "t0": cal["t0"]} if fixed is None else {"mode": "fixed", "delay": fixed}
    options = {"method": method, "iters": cal["iters"], "batch_size": cal["batch_size"], "delay": delay if fixed is None else fixed,
               "pool_mode": pool_mode, "reset": reset}
    if method in ("percentile", "cpercentile"):
        options["percentile"] = float(percentile)
    meta = {"target": target, "source": source, "options": options, "pass_log": pass_log,
            "calibration": cal, "readout": readout, "spike_comparison": ">=",
            "pool_modes": {n.name: n.op.mode for n in snn.of_type(_maxpool())},
            "snnc_version": __version__}
    resources = resource_summary(snn, target)
    if resources is not None:
        meta["resources"] = resources
    snn = Graph(snn.nodes, snn.outputs, {k: v for k, v in snn.meta.items() if k != "onnx_tensors"})
    return Artifact(snn, ann, meta)


def _maxpool():
    from snnc.compiler.ir import MaxPool2d
    return MaxPool2d


def resource_summary(snn: Graph, target: str):
    """Resource summary from the hardware analysis (helper "hw"), if that module is installed.

    INTEGRATION POINT: ``snnc.compiler.analysis.resources.summary(graph, profile_name) -> dict``
    (JSON-able). Absent module or function: None, and the report says so.
    """
    import importlib
    import importlib.util
    if importlib.util.find_spec(RESOURCE_HOOK) is None:
        return None
    try:
        mod = importlib.import_module(RESOURCE_HOOK)
    except ImportError as e:  # the analysis stack is incomplete in this installation
        log.warning("resource summary unavailable: %s", e)
        return None
    fn = getattr(mod, "summary", None)
    return None if fn is None else fn(snn, target)
