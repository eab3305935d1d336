"""Compile an IR graph + calibration data into an :class:`Artifact` (the engine behind ``snnc.compile``).

Steps: reject bad options and targets, reject non-finite weights, run the
conversion ``PIPELINE`` (passes, calibration, threshold folding; verified
after every pass), then describe the result in the artifact's meta: target,
source path and sha256, options, input preprocessing, frontend notes, pass
log, calibration statistics, readout window, spike comparison, resource
summary and snnc version. The same inputs give the same artifact bytes (no
timestamps, sorted JSON, fixed zip dates).

This module takes an IR :class:`Graph` only: loading model files is the
frontends' job (``snnc.compile`` in the package root loads a path, a
``torchvision:NAME`` or ``FILE.py:CLASS`` spec and passes the graph and its
source record here), so the compiler imports no frontend (docs/architecture.md).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from snnc.compiler.analysis.resources import summary as resource_summary
from snnc.compiler.lower.record import deployment_record
from snnc.compiler.artifact import Artifact
from snnc.compiler.artifact_meta import ArtifactMeta, Calibration, Neurons, Options, PassRecord, Readout, Source
from snnc.compiler.calibrate import METHOD_CHOICES, TOL
from snnc.compiler.calibrate.methods import check_percentile, check_tol
from snnc.compiler.data.preprocess import preprocessing_record
from snnc.compiler.errors import HardwareError, ModelLoadError, UnsupportedModelError, UsageError
from snnc.compiler.hardware import load_profile
from snnc.compiler.ir import Graph, MaxPool2d
from snnc.compiler.readout import parse_delay
from snnc.compiler.passes.init_membrane import check_reset
from snnc.compiler.passes.pipeline import run_pipeline
from snnc.compiler.passes.pool_modes import POOL_MODES
from snnc.compiler.passes.sigma_delta import DEFAULT_ACT_BITS, check_neuron

log = logging.getLogger(__name__)


def check_finite_weights(graph: Graph) -> None:
    for n in graph.nodes:
        for key, a in n.op.arrays().items():
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ModelLoadError(f"node {n.name!r} ({n.type}) has NaN or infinite values in {key!r}; "
                                     f"the model file is corrupt or was exported from a diverged training run")


def check_options(method: str = "auto", pool_mode: str = "auto", reset: str = "subtract",
                  percentile: float = 99.9, tol: float = TOL) -> None:
    """Reject bad option values before any work is done."""
    for name, value, allowed in [("method", method, METHOD_CHOICES), ("pool_mode", pool_mode, POOL_MODES)]:
        if value not in allowed:
            raise UsageError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    check_reset(reset)
    if method in ("percentile", "cpercentile", "auto"):
        check_percentile(percentile)
    check_tol(tol)


def check_target(target: str) -> None:
    """Fail fast on an unknown hardware profile or an ANN (non-spiking) one."""
    profile = load_profile(target)
    if not profile.is_snn:
        raise HardwareError(f"target {target!r} is an ANN profile (no neuromorphic cores); "
                            f"compile for a spiking target such as loihi2")


def check_graded(target: str, neuron: str = "if", act_bits: int = DEFAULT_ACT_BITS) -> None:
    """Sigma-delta needs graded spikes: the target's payload must hold the signed change, act_bits + 1 bits."""
    check_neuron(neuron, act_bits)
    if neuron == "if":
        return
    profile = load_profile(target)
    payload = profile.limit("graded_spike_bits") or 0
    if payload == 0:
        raise HardwareError(f"target {profile.name!r} has no graded spikes (limits.graded_spike_bits = 0): "
                            f"--neuron sigma-delta needs them; use --neuron if or a target such as loihi2")
    if act_bits + 1 > payload:
        raise HardwareError(f"--act-bits {act_bits} needs a {act_bits + 1}-bit graded payload (the signed change "
                            f"of a {act_bits}-bit activation) but target {profile.name!r} carries at most "
                            f"{payload} bits (limits.graded_spike_bits): use --act-bits {payload - 1} or less")


def check_arguments(target: str = "loihi2", method: str = "auto", delay="auto", pool_mode: str = "auto",
                    reset: str = "subtract", percentile: float = 99.9, neuron: str = "if",
                    act_bits: int = DEFAULT_ACT_BITS, tol: float = TOL, **_) -> None:
    """Every cheap check of :func:`compile`'s options, so callers can run it before loading a model."""
    parse_delay(delay)
    check_options(method, pool_mode, reset, percentile, tol)
    check_target(target)
    check_graded(target, neuron, act_bits)


def compile(ann: Graph, calib, target: str = "loihi2", method: str = "auto", iters: Optional[int] = None,
            batch_size: Optional[int] = None, delay="auto", pool_mode: str = "auto",
            reset: str = "subtract", percentile: float = 99.9, neuron: str = "if",
            act_bits: int = DEFAULT_ACT_BITS, *, source: Optional[dict] = None,
            preprocessing: Optional[dict] = None, val=None, tol: float = TOL) -> Artifact:
    """Convert the ANN ``ann`` into a calibrated IF network; see ``snnc compile``.

    ``source`` is the model's source record ({"path", "sha256", ...}; default:
    from ``ann.meta["source"]``); ``preprocessing`` (resize / crop / mean / std)
    applies to image-folder calibration data and is stored in the meta, so that
    ``snnc simulate`` can apply the same preprocessing by default. ``val``:
    labelled data to measure the clip-ANN on (default: a slice held back from
    ``calib``); ``tol``: the calibration's convergence tolerance.
    """
    from snnc import __version__
    if not isinstance(ann, Graph):
        raise UsageError(f"snnc.compiler.compile.compile takes an IR Graph, got {type(ann).__name__}; "
                         f"use snnc.compile(path_or_spec, calib) to load a model file")
    fixed = parse_delay(delay)
    check_arguments(target, method, delay, pool_mode, reset, percentile, neuron, act_bits, tol)
    prep = preprocessing_record(preprocessing)
    ann = ann.verify()
    if len(ann.inputs) != 1:
        raise UnsupportedModelError(f"the model has {len(ann.inputs)} inputs; snnc converts single-input models")
    check_finite_weights(ann)
    snn, pass_log, info = run_pipeline(ann, calib=calib, method=method, iters=iters, batch_size=batch_size,
                                       percentile=percentile, pool_mode=pool_mode, reset=reset,
                                       preprocessing=prep, neuron=neuron, act_bits=act_bits, val=val, tol=tol)
    cal = info["calibration"]
    readout = {"mode": "auto", "t0": cal["t0"]} if fixed is None else {"mode": "fixed", "delay": fixed}
    options = {"method": method, "iters": cal["iters"], "batch_size": cal["batch_size"],
               "delay": delay if fixed is None else fixed, "pool_mode": pool_mode, "reset": reset}
    if iters is None:
        options["tol"] = float(tol)
    if cal["method"] in ("percentile", "cpercentile"):
        options["percentile"] = float(percentile)
    if neuron != "if":
        options.update(neuron=neuron, act_bits=int(act_bits))
    snn = Graph(snn.nodes, snn.outputs, {k: v for k, v in snn.meta.items() if k != "onnx_tensors"})
    meta = ArtifactMeta(
        target=target, source=Source.from_json(_source(ann, source)), options=Options(**options),
        preprocessing=prep, notes=list(ann.meta.get("notes", [])),
        pass_log=[PassRecord.from_json(e) for e in pass_log], calibration=Calibration.from_json(cal),
        readout=Readout.from_json(readout), spike_comparison=">=",
        pool_modes={n.name: n.op.mode for n in snn.of_type(MaxPool2d)}, neurons=neuron_record(neuron, act_bits),
        snnc_version=__version__,
        resources=resource_summary(snn, target),      # on the artifact's own graph: the report reuses it
        deployment=deployment_record(snn, load_profile(target).limit("weight_bits")))  # the fixed-point plan
    if not meta.resources["fits"]:
        log.warning("the network does not fit target %r (see the artifact's resources); the artifact is "
                    "valid for simulation", target)
    return Artifact(snn, ann, meta.to_json())


def neuron_record(neuron: str, act_bits: int) -> Neurons:
    """The artifact's neuron kind and bit widths (activation code, graded payload = signed change)."""
    if neuron == "if":
        return Neurons("if", spike_bits=1)
    return Neurons("sigma-delta", act_bits=int(act_bits), payload_bits=int(act_bits) + 1, vth_steps=1,
                   quantiser="step * clip(floor(z / step + 1/2), 0, 2^B - 1), step = theta / (2^B - 1)")


def _source(ann: Graph, source: Optional[dict]) -> dict:
    if source is not None:
        return dict(source)
    src = ann.meta.get("source") or {}
    return {"path": src.get("path"), "sha256": src.get("sha256")}
