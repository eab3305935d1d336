"""Threshold update rules (algorithms.md section 5), one function per method.

Each rule maps the current thresholds ``theta`` (float64, one per channel of a
feature map or per feature of a vector) and a batch ``r = ReLU(z)`` of the
layer's pre-activations, shape (N, C, ...), to the new thresholds:

* ``max``:        theta = max(theta, max r)                      (one scalar per layer)
* ``percentile``: theta = max(theta, quantile_p(r))             (one scalar per layer;
                  numpy's linear-interpolation percentile over every element of the batch)
* ``cpercentile``: theta_c = max(theta_c, quantile_p(r[:, c]))  (channel-wise: the percentile
                  over each channel's elements (N, H, W), one per feature of a vector)
* ``ltb``:        theta <- theta + eta * mean_{all elements}[2 (z - theta) 1(z > theta)]
* ``cltb``:       the same with the mean over each channel's elements (N, H, W)

with eta = 1 and theta starting at 0, so the first step gives theta =
2 * mean(ReLU(z)). Because theta >= 0, 1(z > theta) implies z > 0, so r can
stand in for z. The (c)ltb iteration only grows theta (its fixed point is
max z); the number of iterations K is the regulariser.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

ETA = 1.0


def _channel_axes(r: np.ndarray) -> tuple:
    return (0,) + tuple(range(2, r.ndim))


def _bcast(theta: np.ndarray, ndim: int) -> np.ndarray:
    return theta.reshape((1, -1) + (1,) * (ndim - 2)).astype(np.float32)


def update_cltb(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    excess = np.maximum(r - _bcast(theta, r.ndim), 0.0)
    return theta + ETA * 2.0 * excess.mean(axis=_channel_axes(r), dtype=np.float64)


def update_ltb(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    t = float(theta[0])
    excess = np.maximum(r - np.float32(t), 0.0)
    return np.full_like(theta, t + ETA * 2.0 * excess.mean(dtype=np.float64))


def update_max(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    return np.maximum(theta, float(r.max()))


def update_percentile(theta: np.ndarray, r: np.ndarray, p: float = 99.9) -> np.ndarray:
    return np.maximum(theta, float(np.percentile(r, p)))


def update_cpercentile(theta: np.ndarray, r: np.ndarray, p: float = 99.9) -> np.ndarray:
    per_channel = np.moveaxis(r, 1, 0).reshape(r.shape[1], -1)
    return np.maximum(theta, np.percentile(per_channel, p, axis=1))


PERCENTILE_METHODS = ("percentile", "cpercentile")

METHODS: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "cltb": update_cltb,
    "ltb": update_ltb,
    "max": update_max,
    "percentile": update_percentile,
    "cpercentile": update_cpercentile,
}
