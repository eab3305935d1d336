"""Frontends: import ONNX files and PyTorch/torchvision models into the snnc IR.

``load_model(spec, weights=None, input_shape=None)`` is the one entry point the
CLI uses: a path ending in ``.onnx`` (or an ``onnx.ModelProto``) goes to
``snnc.frontends.onnx.load_onnx``; ``torchvision:NAME`` and ``FILE.py:CLASS``
go to ``snnc.frontends.torch.load_model_spec`` (torch is imported only then).
"""
from __future__ import annotations

from pathlib import Path

from snnc.compiler.errors import UsageError


def is_onnx(spec) -> bool:
    """True for an ONNX path or ModelProto, False for a PyTorch spec (``torchvision:NAME``, ``FILE.py:CLASS``).

    Any other path counts as ONNX, so a wrong file gets the ONNX loader's
    "not an ONNX model" error rather than a request for an input shape."""
    if not isinstance(spec, (str, Path)):
        return True
    text = str(spec)
    return not (text.startswith("torchvision:") or (":" in text and text.rsplit(":", 1)[0].endswith(".py")))


def load_model(spec, weights=None, input_shape=None):
    """Model spec (ONNX path / ModelProto, ``torchvision:NAME``, ``FILE.py:CLASS``) -> IR Graph."""
    if is_onnx(spec):
        if weights is not None:
            raise UsageError(f"--weights applies to PyTorch models only; {spec} carries its own weights")
        from snnc.frontends.onnx import load_onnx
        return load_onnx(spec, input_shape=None if input_shape is None else _shape(input_shape))
    from snnc.frontends.torch import load_model_spec
    return load_model_spec(str(spec), weights=weights, input_shape=input_shape)


def source_record(spec, graph, weights=None) -> dict:
    """What an artifact records of its source: ONNX {"path", "sha256"} (path None for a ModelProto),
    PyTorch {"path": spec, "sha256": None, "weights"}."""
    if is_onnx(spec):
        src = graph.meta.get("source") or {}
        return {"path": src.get("path"), "sha256": src.get("sha256")}
    return {"path": str(spec), "sha256": None, "weights": None if weights is None else str(weights)}


def model_stem(spec) -> str:
    """A file-name stem for a spec: ``torchvision:resnet18`` -> ``resnet18``, ``net.py:Net`` -> ``net_Net``."""
    text = str(spec)
    if text.startswith("torchvision:"):
        return text.split(":", 1)[1]
    if ".py:" in text:
        path, cls = text.rsplit(":", 1)
        return f"{Path(path).stem}_{cls}"
    return Path(text).stem


def _shape(input_shape):
    from snnc.frontends.torch.spec import parse_input_shape  # pure parsing; imports no torch
    return parse_input_shape(input_shape)


__all__ = ["load_model", "is_onnx", "model_stem", "source_record"]
