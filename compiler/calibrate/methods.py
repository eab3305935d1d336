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

from snnc.compiler.errors import UsageError

ETA = 1.0
_SAMPLE = 4096  # at most this many elements in the strided sample that bounds a high percentile from below
_MIN_SAMPLE = 256  # below this sample size (arrays under 8 x 256 elements) numpy does the work


def _bcast(theta: np.ndarray, ndim: int) -> np.ndarray:
    return theta.reshape((1, -1) + (1,) * (ndim - 2)).astype(np.float32)


def _excess_sums(theta: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Per channel, sum of (r - theta)+ over the batch: (C,) float64.

    One float32 temporary updated in place; each sample's map is summed in
    float32 (numpy's pairwise summation over the contiguous H*W elements:
    error ~ log2(HW) eps32 relative), then the samples in float64.
    """
    e = np.subtract(r, _bcast(theta, r.ndim), dtype=np.float32)
    np.maximum(e, np.float32(0.0), out=e)
    if e.ndim > 2:
        e = e.reshape(e.shape[0], e.shape[1], -1).sum(axis=2)
    return e.sum(axis=0, dtype=np.float64)


def update_cltb(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    per_channel = r.size // r.shape[1]
    return theta + ETA * 2.0 * _excess_sums(theta, r) / per_channel


def update_ltb(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    t = float(theta[0])
    return np.full_like(theta, t + ETA * 2.0 * float(_excess_sums(np.full_like(theta, t), r).sum()) / r.size)


def update_max(theta: np.ndarray, r: np.ndarray, p: float = 0.0) -> np.ndarray:
    return np.maximum(theta, float(r.max()))


def update_percentile(theta: np.ndarray, r: np.ndarray, p: float = 99.9) -> np.ndarray:
    return np.maximum(theta, percentile_linear(r, p))


def update_cpercentile(theta: np.ndarray, r: np.ndarray, p: float = 99.9) -> np.ndarray:
    per_channel = np.moveaxis(r, 1, 0).reshape(r.shape[1], -1)
    if per_channel.shape[1] < 16 * _MIN_SAMPLE:  # short rows: one vectorised numpy call beats a loop over channels
        return np.maximum(theta, np.percentile(per_channel, p, axis=1))
    return np.maximum(theta, np.array([percentile_linear(row, p) for row in per_channel]))


_NUMPY2 = int(np.__version__.split(".")[0]) >= 2


def percentile_linear(a: np.ndarray, p: float) -> float:
    """``float(np.percentile(a, p))`` (linear interpolation), bit for bit, without sorting all of ``a``.

    numpy partitions the whole array around the ranks k = floor((n-1) q) and k+1
    (q = p / 100). For the high percentiles calibration uses, only the top
    n - k elements matter: a strided sample of ``a`` gives a value lo below
    rank k with a wide safety margin, one vectorised comparison keeps the
    candidates a >= lo (NaNs kept, so a NaN still gives NaN), and only they are
    partitioned (a strided rather than random sample: deterministic, and a bad
    bound only costs the fallback). The two order statistics are interpolated with numpy's own
    formula (``_lerp``: a + (b - a) g, or b - (b - a)(1 - g) for g >= 0.5) in numpy's
    precision (numpy >= 2 computes q = p / 100 in the array's float type, so a
    float32 array interpolates in float32; numpy 1 in float64). If
    the sample's bound misses rank k, or leaves no saving, numpy does the work.
    """
    a = np.asarray(a).reshape(-1)
    n = a.size
    if n < 8 * _MIN_SAMPLE or a.dtype.kind != "f":
        return float(np.percentile(a, p))
    q = np.true_divide(p, a.dtype.type(100)) if _NUMPY2 else np.true_divide(p, 100)  # numpy's own q
    v = np.asarray((n - 1) * q)
    k = int(np.floor(v))
    k1 = min(k + 1, n - 1)
    s = a[:: max(8, n // _SAMPLE)]
    margin = int(6 * np.sqrt(s.size * q * (1 - q))) + 8  # 6 binomial standard deviations of the sample rank
    j = int(s.size * (k / n)) - margin
    if j <= 0 or v >= n - 1:
        return float(np.percentile(a, p))
    lo = np.partition(s, j)[j]
    cand = a[~(a < lo)]
    below = n - cand.size
    if below > k or cand.size > n // 4:
        return float(np.percentile(a, p))
    if np.isnan(cand).any():
        return float("nan")
    part = np.partition(cand, [k - below, k1 - below])
    prev, nxt = part[k - below], part[k1 - below]
    gamma = np.asanyarray(v - np.floor(v))
    diff = np.subtract(nxt, prev)
    out = np.asanyarray(np.add(prev, diff * gamma))
    np.subtract(nxt, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe", dtype=type(out.dtype))
    return float(out)


PERCENTILE_METHODS = ("percentile", "cpercentile")

METHODS: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "cltb": update_cltb,
    "ltb": update_ltb,
    "max": update_max,
    "percentile": update_percentile,
    "cpercentile": update_cpercentile,
}


def check_percentile(percentile: float) -> None:
    """UsageError unless 0 < ``percentile`` <= 100 (the p of the percentile methods)."""
    if not 0.0 < float(percentile) <= 100.0:
        raise UsageError(f"percentile must be in (0, 100], got {percentile}")


def check_tol(tol: float) -> None:
    """UsageError unless 0 < ``tol`` < 1 (the calibration's relative convergence tolerance, ``--tol``)."""
    if not 0.0 < float(tol) < 1.0:
        raise UsageError(f"tol (--tol) must be in (0, 1), got {tol}")
