"""snnc: compile trained ANNs into integrate-and-fire networks for Loihi 2.

The public Python API. Names load lazily so that importing snnc pulls in
neither torch nor lava::

    import snnc
    graph = snnc.load_onnx("model.onnx")
    art = snnc.compile("model.onnx", calib="mnist", target="loihi2")
"""
from importlib import import_module

from snnc.compiler.errors import SnncError

__version__ = "0.1.0"

_LAZY = {
    "load_onnx": ("snnc.frontends.onnx", "load_onnx"),
    "from_torch": ("snnc.frontends.torch", "from_torch"),
    "compile": ("snnc.compiler.compile", "compile"),
    "load": ("snnc.compiler.artifact", "load"),
    "Artifact": ("snnc.compiler.artifact", "Artifact"),
    "simulate": ("snnc.runtime.numpy_sim", "simulate"),
    "estimate": ("snnc.compiler.analysis.estimate", "estimate"),
}

__all__ = ["SnncError", "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(import_module(mod), attr)
    raise AttributeError(f"module 'snnc' has no attribute {name!r}")
