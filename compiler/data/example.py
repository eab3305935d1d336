"""Where the bundled example model (a small MNIST CNN, ``examples/mnist_cnn.onnx``) lives.

The repository root is the ``snnc`` package, so the file is package data
``snnc/examples/mnist_cnn.onnx`` in a normal install and ``<repo>/examples/``
in an editable one; both resolve through the ``snnc`` package's folder.
"""
from __future__ import annotations

from pathlib import Path

from snnc.compiler.errors import ModelLoadError

EXAMPLE_MODEL = "mnist_cnn.onnx"


def example_model_path(name: str = EXAMPLE_MODEL) -> Path:
    """Absolute path of a bundled example file (default: the example MNIST ONNX model)."""
    import snnc
    candidates = [Path(p) / "examples" / name for p in getattr(snnc, "__path__", [])]
    candidates.append(Path(__file__).resolve().parents[2] / "examples" / name)  # <root>/compiler/data/
    for path in candidates:
        if path.is_file():
            return path
    raise ModelLoadError(f"example file {name} not found (looked in {', '.join(map(str, candidates))}); "
                         f"reinstall snnc or run examples/train_mnist.py")
