"""Independent oracles shared by the tests."""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import run


def clip_ann(ann, thresholds: dict, x: np.ndarray) -> np.ndarray:
    """The source ANN with each activation clipped at its calibrated per-channel thresholds:
    y = min(relu(z), theta) at every node named in ``thresholds``. The folded unit-threshold
    network must compute the same function (algorithms.md section 3)."""
    th = {k: np.asarray(v, np.float32) for k, v in thresholds.items()}

    def hook(name, v):
        if name in th:
            return np.minimum(v, th[name].reshape((1, -1) + (1,) * (v.ndim - 2)))
    return run(ann, x, hook=hook)[ann.outputs[0]]


def artifact_clip_ann(art, x: np.ndarray) -> np.ndarray:
    """``clip_ann`` of an artifact's source ANN at the thresholds its calibration recorded."""
    return clip_ann(art.ann, {k: v["thresholds"] for k, v in art.meta["calibration"]["layers"].items()}, x)
