"""The one quantisation rule of the deployment: signed b-bit mantissas with power-of-two exponents.

Every integer the hardware receives is ``quantise(x, e, bits)``::

    q = clip(round(x * 2**e), -2**(b-1), 2**(b-1) - 1)          (e broadcast along axis 0 of x)

and the exponent of a group of values (a layer, or one output channel) is the
largest that keeps the group's largest magnitude m inside the positive range::

    e = floor(log2((2**(b-1) - 1) / m))        clamped to [lo, hi]

so nothing clips unless the clamp bites (counted). Biases are encoded as
Loihi's 13-bit mantissa with a 3-bit exponent (``bias_mant_exp``). The compile
report's weight error (``relative_error``) is computed on exactly the integers
the fixed-point run uses (``snnc.compiler.lower.plan``).
"""
from __future__ import annotations

import math

import numpy as np

BIAS_MANT = 4095        # 13-bit signed bias mantissa
BIAS_EXP = 7            # 3-bit bias exponent


def exponent(m: float, bits: int, lo: int = 0, hi: int = 16, empty: int = 6) -> int:
    """floor(log2((2**(bits-1) - 1) / m)) clamped to [lo, hi] (``empty`` when m == 0)."""
    if not m > 0:
        return int(min(max(empty, lo), hi))
    k = math.floor(math.log2((2 ** (bits - 1) - 1) / m))
    return int(min(max(k, lo), hi))


def along0(e, ndim: int) -> np.ndarray:
    """Exponents per index of axis 0, shaped to broadcast over an array of ``ndim`` axes."""
    e = np.asarray(e, np.int64)
    return e.reshape(e.shape + (1,) * (ndim - e.ndim)) if e.ndim else e


def quantise(x, e, bits: int) -> tuple[np.ndarray, int]:
    """(int64 mantissas clip(round(x 2**e)), number clipped); ``e`` a scalar or one exponent per axis-0 index."""
    x = np.asarray(x, np.float64)
    q = np.round(x * 2.0 ** along0(e, x.ndim))
    lim = 2 ** (bits - 1)
    clipped = int(np.count_nonzero((q < -lim) | (q > lim - 1)))
    return np.clip(q, -lim, lim - 1).astype(np.int64), clipped


def dequantise(q, e) -> np.ndarray:
    q = np.asarray(q, np.float64)
    return q / 2.0 ** along0(e, q.ndim)


def relative_error(x, q, e) -> float:
    """||x - q 2**-e|| / ||x|| (0 for all-zero x)."""
    x = np.asarray(x, np.float64)
    norm = float(np.linalg.norm(x))
    return 0.0 if norm == 0.0 else float(np.linalg.norm(x - dequantise(q, e)) / norm)


def zeroed_rows(x, q) -> int:
    """Output units (axis-0 rows) with a nonzero weight whose every weight quantised to 0."""
    x, q = np.asarray(x), np.asarray(q)
    if x.ndim == 0:
        return 0
    rows, qrows = x.reshape(x.shape[0], -1), q.reshape(q.shape[0], -1)
    return int(np.count_nonzero(np.any(rows != 0, axis=1) & ~np.any(qrows != 0, axis=1)))


def graded_input(x, input_bits: int) -> np.ndarray:
    """The network input as graded spikes: round(x * 2**input_bits) (int64)."""
    return np.round(np.asarray(x, np.float64) * 2 ** input_bits).astype(np.int64)


def bias_mant_exp(bv) -> tuple[np.ndarray, np.ndarray, int]:
    """A bias in v units -> (13-bit mantissa, 3-bit exponent, number clipped): the smallest exponent
    that fits the mantissa, the mantissa clipped to +-4095 when even 2**7 does not."""
    bv = np.asarray(bv, np.float64)
    exp = np.zeros(bv.shape, np.int64)
    while True:
        mant = np.round(bv / 2.0 ** exp)
        big = (np.abs(mant) > BIAS_MANT) & (exp < BIAS_EXP)
        if not big.any():
            break
        exp[big] += 1
    clipped = int(np.count_nonzero(np.abs(mant) > BIAS_MANT))
    return np.clip(mant, -BIAS_MANT, BIAS_MANT).astype(np.int64), exp, clipped


def split_bias(b) -> tuple[np.ndarray, np.ndarray]:
    """An integer bias mant << exp (as ``bias_mant_exp`` builds it) -> (13-bit mant, 3-bit exp) again."""
    mant, exp = np.asarray(b, np.int64).copy(), np.zeros(np.shape(b), np.int64)
    while (big := np.abs(mant) > BIAS_MANT).any():
        mant[big] >>= 1
        exp[big] += 1
    return mant, exp
