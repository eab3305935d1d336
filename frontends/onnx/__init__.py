"""ONNX frontend: ``load_onnx(path_or_model) -> Graph``.

One module per op family (conv, activation, pooling, shape, resize, arith)
registers handlers in :data:`HANDLERS`; :mod:`fold` evaluates constant
subgraphs with NumPy; :mod:`loader` validates the file; :mod:`convert` scans
for unsupported ops and runs the handlers.
"""
from __future__ import annotations

from typing import Optional, Sequence

from snnc.compiler.ir import Graph
from snnc.frontends.onnx.loader import DynamicShapeError, ModelLike, read_model
from snnc.frontends.onnx.registry import HANDLERS, UNREPRESENTABLE, _load_handlers, supported_ops_markdown

_load_handlers()  # fill HANDLERS (one module per op family)

__all__ = ["load_onnx", "scan_onnx", "supported_ops_markdown", "HANDLERS", "UNREPRESENTABLE",
           "DynamicShapeError"]


def load_onnx(model: ModelLike, input_shape: Optional[Sequence[int]] = None) -> Graph:
    """Import an ONNX model (path or ``onnx.ModelProto``) as an snnc IR graph.

    ``input_shape`` fixes dynamic input dimensions: the full shape with batch
    (``(1, 3, 224, 224)``) or the per-sample shape (``(3, 224, 224)``). Raises
    ``ModelLoadError`` for unusable files and ``UnsupportedModelError`` listing
    every unsupported op at once. ``graph.meta`` holds ``source`` (path,
    sha256, opset, producer), ``notes`` and ``onnx_tensors`` (ONNX tensor ->
    IR node computing the same values).
    """
    from snnc.frontends.onnx.convert import load
    proto, source = read_model(model)
    return load(proto, source, None if input_shape is None else tuple(input_shape))


def scan_onnx(model: ModelLike) -> list[dict]:
    """Problems that keep ``model`` from converting: [{"node", "op", "kind", "message"}]."""
    from snnc.frontends.onnx.convert import scan
    proto, _ = read_model(model)
    return scan(proto)
