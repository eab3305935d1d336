"""benchmarks/zoo_trained.py helpers: the 3x32x32 MNIST inputs against a direct construction, the output check."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.zoo_trained")


def test_mnist_inputs_are_padded_repeated_and_normalised():
    from snnc.compiler.data import mnist
    x, y = load().mnist_3x32("test", 5)
    raw, labels = mnist.load_split("test")
    assert x.shape == (5, 3, 32, 32) and x.dtype == np.float32
    np.testing.assert_array_equal(y, labels[:5])
    for c in range(3):  # centre: (x - 0.5) / 0.5 of the raw image; 2-pixel border: the padded zero, -1
        np.testing.assert_allclose(x[:, c, 2:30, 2:30], 2 * raw[:5, 0] - 1, atol=1e-6)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(x[:, :, border] == -1.0)


def test_unwritable_json_fails_before_any_work(tmp_path, torch):
    from snnc.compiler.errors import OutputError
    with pytest.raises(OutputError, match="--json"):
        load().main(["--models", "resnet18", "--json", str(tmp_path / "missing" / "out.json")])
