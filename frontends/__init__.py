"""Frontends: import ONNX files and PyTorch/torchvision models into the snnc IR.

``load_model(spec, weights=None, input_shape=None)`` is the one entry point the
CLI uses: a path ending in ``.onnx`` goes to ``snnc.frontends.onnx.load_onnx``;
``torchvision:NAME`` and ``FILE.py:CLASS`` go to
``snnc.frontends.torch.load_model_spec`` (torch is imported only then).
"""
from __future__ import annotations

from pathlib import Path

from snnc.compiler.errors import UsageError


def load_model(spec, weights=None, input_shape=None):
    """Model spec (ONNX path / ModelProto, ``torchvision:NAME``, ``FILE.py:CLASS``) -> IR Graph."""
    if not isinstance(spec, (str, Path)) or str(spec).lower().endswith(".onnx"):
        if weights is not None:
            raise UsageError(f"--weights applies to PyTorch models only; {spec} carries its own weights")
        from snnc.frontends.onnx import load_onnx
        return load_onnx(spec)
    from snnc.frontends.torch import load_model_spec
    return load_model_spec(str(spec), weights=weights, input_shape=input_shape)


__all__ = ["load_model"]
