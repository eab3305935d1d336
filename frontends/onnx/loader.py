"""Reading and validating an ONNX file before conversion.

Every way a file can be unusable raises :class:`ModelLoadError` naming the file
and what to do: missing or not a regular file (a FIFO, device or socket is
refused before it is opened), not ONNX, truncated, external data outside the
model's folder or missing, empty graph, NaN/inf in an initializer; a model the
ONNX spec does not define is refused by :mod:`~snnc.frontends.onnx.validate`. Dynamic spatial dimensions raise
:class:`DynamicShapeError` (a ModelLoadError with the unsupported-model exit
code 4): snnc needs static per-sample shapes; only the batch axis may vary.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import onnx
from onnx import numpy_helper

from snnc.compiler.errors import ModelLoadError, UnsupportedModelError
from snnc.compiler.files import input_path, kind
from snnc.frontends.onnx.validate import check_model

ModelLike = Union[str, Path, onnx.ModelProto]


class DynamicShapeError(ModelLoadError, UnsupportedModelError):
    """An input has a dynamic (or missing) per-sample dimension."""

    exit_code = UnsupportedModelError.exit_code


def read_model(model: ModelLike) -> tuple[onnx.ModelProto, dict]:
    """Parse, check and validate ``model``; return it with ``meta["source"]``."""
    if isinstance(model, onnx.ModelProto):
        proto, label, path = model, "<ModelProto>", None
        digest = hashlib.sha256(model.SerializeToString()).hexdigest()
    else:
        path = Path(model)
        label = str(path)
        proto, digest = _parse(path)
    if proto.ir_version == 0 and not proto.graph.node and not proto.opset_import:
        raise ModelLoadError(f"{label} is not an ONNX model (no graph, no IR version); pass a .onnx file "
                             f"exported with torch.onnx.export or another ONNX exporter")
    if not proto.graph.node:
        raise ModelLoadError(f"{label} has an empty graph (no nodes); re-export the model")
    check_model(proto, label, path)
    _check_finite(proto, label)
    source = {"path": None if path is None else str(path), "sha256": digest,
              "opset": opset_of(proto), "producer": f"{proto.producer_name} {proto.producer_version}".strip()}
    return proto, source


def _parse(path: Path) -> tuple[onnx.ModelProto, str]:
    if kind(path) == "dir":
        raise ModelLoadError(f"{path} is a directory, not an ONNX file; pass the .onnx file inside it")
    input_path(path, "model", hint="check the path")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as e:  # noqa: BLE001 - protobuf DecodeError and friends
        if data[:1] == b"\x08":  # field 1 (ir_version) as a varint: an ONNX file that breaks off
            raise ModelLoadError(f"{path} is truncated or corrupt ({type(e).__name__}); copy or re-export "
                                 f"the file again") from None
        raise ModelLoadError(f"{path} is not an ONNX model (cannot be parsed); pass a .onnx file") from None
    if _check_external_data(proto, path):
        try:
            onnx.load_external_data_for_model(proto, str(path.parent))
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"{path}: cannot read its external weight data ({e}); keep the data "
                                 f"file next to the model") from None
    return proto, digest


def _check_external_data(proto: onnx.ModelProto, path: Path) -> bool:
    """True when ``proto`` has external data, every file of which is a regular file in the model's folder."""
    from onnx.external_data_helper import _get_all_tensors, uses_external_data
    folder = path.parent.resolve()
    found = False
    for t in _get_all_tensors(proto):
        if not uses_external_data(t):
            continue
        found = True
        location = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or folder not in (target, *target.parents):
            raise ModelLoadError(f"{path}: tensor {t.name!r} keeps its data in {location!r}, outside the "
                                 f"model's folder {folder}; external data must be a file next to the model")
        input_path(target, f"external data file of tensor {t.name!r} of {path.name}:",
                   hint="keep the data file next to the model")
    return found


def opset_of(proto: onnx.ModelProto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def _check_finite(proto: onnx.ModelProto, label: str) -> None:
    """Every initializer decodes to its declared dims (the checker does not compare raw_data with dims)
    and holds finite values."""
    for init in proto.graph.initializer:
        try:
            a = numpy_helper.to_array(init)
        except (ValueError, TypeError) as e:
            raise ModelLoadError(f"{label}: initializer {init.name!r} does not decode to its declared dims "
                                 f"{list(init.dims)} ({e}); the file is corrupt: re-export the model") from None
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise ModelLoadError(f"{label}: initializer {init.name!r} holds {bad} NaN/inf value(s); the "
                                 f"weights are corrupt or training diverged: fix and re-export the model")


def graph_inputs(proto: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Run-time inputs (old exporters also list initializers as inputs)."""
    inits = {i.name for i in proto.graph.initializer}
    return [i for i in proto.graph.input if i.name not in inits]


def input_shapes(proto: onnx.ModelProto, input_shape: Optional[Sequence[int]] = None,
                 label: str = "the model") -> dict[str, tuple[int, ...]]:
    """Per-sample shape of every run-time input; ``input_shape`` (with or without batch) overrides one."""
    ins = graph_inputs(proto)
    out = {}
    for vi in ins:
        tt = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or "?")
                for d in tt.shape.dim]
        if input_shape is not None and len(ins) == 1:
            given = [int(d) for d in input_shape]
            dims = given if len(given) == len(dims) or not dims else [dims[0]] + given
        per = dims[1:]
        if len(dims) < 2 or any(not isinstance(d, int) for d in per):
            raise DynamicShapeError(
                f"input {vi.name!r} of {label} has shape {dims}: its per-sample dimensions must be static "
                f"(only the batch axis may vary); pass input_shape=(1, C, H, W) (CLI: --input-shape 1,C,H,W) "
                f"or re-export the model with static shapes")
        out[vi.name] = tuple(per)
    if not out:
        raise ModelLoadError(f"{label} has no run-time input (every input is an initializer)")
    return out
