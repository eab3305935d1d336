"""A suite of trained networks that snnc builds itself (MNIST, CPU, fixed seeds).

The trained ONNX files and their training records are committed under
``examples/suite/`` (``NAME.onnx``, ``NAME.json``) so that tests and benchmarks
use trained networks without training; ``python -m benchmarks.suite.train``
regenerates them from the recipes in :mod:`benchmarks.suite.models`.

    from benchmarks.suite import NAMES, onnx_path, record, data
    graph = snnc.load_onnx(onnx_path("resnet"))
    x_cal, y_cal = data("valid", 1000)      # calibration / tuning split
    x_te, y_te = data("test", 1000)         # report split (never tuned on)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Tuple

import numpy as np

SUITE_DIR = Path(__file__).resolve().parents[2] / "examples" / "suite"
NAMES = ("vgg", "resnet", "mobilenet", "densenet")
#: what each network exercises, for tables
FEATURES = {
    "vgg": "max pools, 3136->256->10 classifier",
    "resnet": "4 residual adds (2 projections), global avg pool",
    "mobilenet": "depthwise, ReLU6, adds after linear bottlenecks",
    "densenet": "concat, BN-ReLU-conv, avg pool",
}


def onnx_path(name: str) -> Path:
    """The committed ONNX file of suite network ``name`` (input (N, 1, 28, 28) in [0, 1), 10 logits)."""
    if name not in NAMES:
        raise KeyError(f"unknown suite network {name!r}; choose one of {', '.join(NAMES)}")
    path = SUITE_DIR / f"{name}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; regenerate it: python -m benchmarks.suite.train --model {name}")
    return path


def record(name: str) -> dict:
    """The training record (``NAME.json``): recipe, seed, epochs, time, valid / test accuracy."""
    return json.loads(onnx_path(name).with_suffix(".json").read_text())


def data(split: str, n=None) -> Tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` (train / valid / test) as (x float32 (N, 1, 28, 28) in [0, 1), y int64): the first ``n``."""
    from snnc.compiler.data import load_data
    ds = load_data(f"mnist:{split}", n=n)
    return ds.x, ds.y
