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

The file is a zip with ``artifact.json`` (strict JSON, see
``snnc.compiler.ir.jsonio``), ``snn.snncg`` and ``ann.snncg`` (each an
``snnc.compiler.ir`` graph file), written deterministically.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from snnc.compiler.errors import ModelLoadError, OutputError
from snnc.compiler.ir import Graph, from_bytes, jsonio, to_bytes

FORMAT = "snnc-artifact"
VERSION = 1
_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, eq=False)
class Artifact:
    snn: Graph
    ann: Graph
    meta: dict = field(default_factory=dict)

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
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file; create it with `snnc compile`")
    try:
        zf = zipfile.ZipFile(path)
        doc = jsonio.loads(zf.read("artifact.json"))
        snn_b, ann_b = zf.read("snn.snncg"), zf.read("ann.snncg")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ModelLoadError(f"{path}: not an snnc artifact ({e}); recreate it with `snnc compile`") from None
    if doc.get("format") != FORMAT:
        raise ModelLoadError(f"{path}: format {doc.get('format')!r} is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ModelLoadError(f"{path}: artifact format version {doc.get('version')} is not supported "
                             f"(this snnc reads version {VERSION}); recompile with `snnc compile`")
    meta = {k: v for k, v in doc.items() if k not in ("format", "version")}
    return Artifact(from_bytes(snn_b, f"{path}:snn"), from_bytes(ann_b, f"{path}:ann"), meta)
