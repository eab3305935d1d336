"""The compiled artifact (``.snnc``): the spiking network plus everything that describes it.

An artifact holds two IR graphs and a JSON document:

* ``snn``: the folded integrate-and-fire network. Neuron layers are
  ``IFNeuron`` nodes with unit thresholds and ``v_init`` (0.5 by default);
  synaptic ops carry the folded weights; each ``MaxPool2d`` states its spiking
  ``mode``; the graph's first output is the non-spiking readout accumulator
  I_L(t). Evaluated with the ANN executor it *is* the clip-ANN.
* ``ann``: the source ANN as imported (for ANN accuracy and agreement).
* ``meta``: format version, target, source file and sha256, options, pass
  log, calibration statistics, readout window (``readout``: ``mode`` "auto" or
  "fixed", ``delay`` for fixed, ``t0`` the Eq. 19 estimate for auto), the
  spike comparison (``v >= theta``), the input ``preprocessing`` used for
  calibration (resize / crop / mean / std; evaluation reuses it), the
  frontend's ``notes`` and the resource summary (``resources.fits``).
  ``Artifact.info`` reads it as typed records (``snnc.compiler.artifact_meta``).

The file is a zip with ``artifact.json`` (strict JSON, see
``snnc.compiler.ir.jsonio``), ``snn.snncg`` and ``ann.snncg`` (each an
``snnc.compiler.ir`` graph file), written deterministically.
"""
from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from snnc.compiler.artifact_meta import ArtifactMeta
from snnc.compiler.errors import ModelLoadError, OutputError
from snnc.compiler.files import ZIP_ERRORS, input_path
from snnc.compiler.ir import Graph, from_bytes, jsonio, to_bytes

FORMAT = "snnc-artifact"
VERSION = 1
_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, eq=False)
class Artifact:
    snn: Graph
    ann: Graph
    meta: dict = field(default_factory=dict)

    @property
    def info(self) -> ArtifactMeta:
        """``meta`` as typed records; ``meta`` stays the JSON document it is stored as."""
        return ArtifactMeta.from_json(self.meta)

    def readout_delay(self, T: int) -> int:
        """Readout delay D for T steps: output = mean of I_L(t) over t = D+1..T (algorithms.md section 6).

        auto: D = clamp(floor(t0), 0, T - 4); fixed: D = min(delay, T - 1) (``snnc.compiler.readout``).
        """
        from snnc.compiler.readout import window_delays
        return window_delays([T], self.meta.get("readout"), warn=False)[T]

    def to_bytes(self) -> bytes:
        doc = {"format": FORMAT, "version": VERSION, **self.meta}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in [("artifact.json", jsonio.dumps(doc, sort_keys=True, separators=(",", ":")).encode()),
                               ("snn.snncg", to_bytes(self.snn)), ("ann.snncg", to_bytes(self.ann))]:
                info = zipfile.ZipInfo(name, date_time=_DATE)
                info.compress_type = zipfile.ZIP_STORED if name.endswith(".snncg") else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        return out.getvalue()

    def save(self, path: Union[str, Path]) -> Path:
        """Write the artifact; OutputError (not a traceback) when the file cannot be written."""
        path = Path(path)
        data = self.to_bytes()
        try:
            path.write_bytes(data)
        except OSError as e:
            raise OutputError(f"cannot write the artifact {path}: {e.strerror or e}; choose a writable "
                              f"path with -o") from None
        return path


def load(path: Union[str, Path]) -> Artifact:
    path = input_path(path, "artifact", hint="create it with `snnc compile`")
    try:
        with zipfile.ZipFile(path) as zf:
            doc = jsonio.loads(zf.read("artifact.json"))
            snn_b, ann_b = zf.read("snn.snncg"), zf.read("ann.snncg")
    except ZIP_ERRORS as e:
        raise ModelLoadError(f"{path}: not an snnc artifact, or truncated / corrupt ({type(e).__name__}: {e}); "
                             f"recreate it with `snnc compile`") from None
    if not isinstance(doc, dict):
        raise ModelLoadError(f"{path}: artifact.json holds a {type(doc).__name__}, not an artifact document")
    if doc.get("format") != FORMAT:
        raise ModelLoadError(f"{path}: format {doc.get('format')!r} is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ModelLoadError(f"{path}: artifact format version {doc.get('version')} is not supported "
                             f"(this snnc reads version {VERSION}); recompile with `snnc compile`")
    meta = {k: v for k, v in doc.items() if k not in ("format", "version")}
    check_meta(meta, str(path))
    snn, ann = from_bytes(snn_b, f"{path}:snn"), from_bytes(ann_b, f"{path}:ann")
    _check_snn(snn, ann, str(path))
    return Artifact(snn, ann, meta)


# top-level meta key -> the JSON type(s) every reader of an artifact relies on
META_TYPES = {"target": str, "source": dict, "options": dict, "preprocessing": dict, "notes": list,
              "pass_log": list, "calibration": dict, "readout": dict, "pool_modes": dict, "resources": dict}


def check_meta(meta: dict, where: str) -> None:
    """ModelLoadError when an (edited) artifact's meta breaks what its readers rely on."""
    for key, typ in META_TYPES.items():
        if key in meta and not isinstance(meta[key], typ):
            raise _edited(where, f"'{key}' is a {type(meta[key]).__name__}, not a {typ.__name__}")
    readout = meta.get("readout", {"mode": "auto", "t0": 0.0})
    mode = readout.get("mode")
    value = readout.get("t0" if mode == "auto" else "delay")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    if mode not in ("auto", "fixed") or not ok or (mode == "fixed" and not isinstance(value, int)):
        raise _edited(where, f"readout {readout} is not {{'mode': 'auto', 't0': >= 0}} or "
                             f"{{'mode': 'fixed', 'delay': integer >= 0}}")
    layers = meta.get("calibration", {}).get("layers", {})
    if not isinstance(layers, dict) or not all(isinstance(v, dict) for v in layers.values()):
        raise _edited(where, "calibration.layers is not a mapping of layer records")
    for name, rec in layers.items():
        r = rec.get("expected_rate", 0.0)
        if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0.0 <= r <= 1.0:
            raise _edited(where, f"layer {name!r}: expected_rate {r!r} is not a firing rate in [0, 1]")


def _check_snn(snn: Graph, ann: Graph, where: str) -> None:
    """Both graphs have finite weights (compile refuses others), the spiking one is an IF network."""
    from snnc.compiler.errors import SnncError
    from snnc.compiler.passes.check_snn import check_snn
    for which, g in (("spiking", snn), ("ANN", ann)):
        for n in g.nodes:
            bad = next((k for k, a in n.op.arrays().items() if a.dtype.kind == "f" and not np.all(np.isfinite(a))),
                       None)
            if bad is not None:
                raise _edited(where, f"array {bad!r} of {which} node {n.name!r} holds non-finite values")
    try:
        check_snn(snn)
    except SnncError as e:
        raise _edited(where, f"its spiking graph is not a valid IF network ({e})") from None
    if [i.shape for i in ann.inputs] != [i.shape for i in snn.inputs]:
        raise _edited(where, "its ANN and spiking graphs take inputs of different shapes")


def _edited(where: str, what: str) -> ModelLoadError:
    return ModelLoadError(f"{where}: the artifact is corrupt or was edited: {what}; recreate it with `snnc compile`")
