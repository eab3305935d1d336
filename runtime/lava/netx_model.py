"""The integer arithmetic of a netx file's blocks in NumPy and the rule that turns its output spikes into a class.

A netx block is a synapse (conv or dense, integer weights, bias mantissa b) into
Lava's fixed-point LIF with du = 4095 (the current is cleared every step) and
dv = 0, i.e. per step t, in Loihi's << 6 units::

    u = wrap24(a(t) << 6);  v = clip(v + u + (b << 6), +-(2**23 - 1));  s = v > vth << 6;  v[s] = 0

from v(0) = 0, with a(t) the synapse's output on the spikes of the block before
(the first block: the graded input round(x * 2**input_bits), every step). This
model has no pipeline latency; netx's blocks each add one step, which its
staggered resets (reset_offset) undo, so the spike counts are the same (tested
against lava-dl's netx).

Prediction (``predict``): the class with the most output spikes; a tie between
classes with the same count goes to the class that reached that count first
(its last spike is the earliest), then to the lowest index; no output spike at
all gives -1 (no prediction, counted wrong).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from snnc.runtime.lava.reference import conv64

V_MAX = 2 ** 23 - 1
VTH_MAX, BIAS_MAX = 2 ** 17 - 1, 4095    # vThMant: 17 bits; bias mantissa: 13 bits signed


@dataclass(frozen=True)
class Block:
    """One netx conv / dense block in integers (the values the file holds)."""

    kind: str                     # "conv" | "dense"
    name: str
    weight: np.ndarray            # int64, conv (O, I/g, kH, kW) torch layout, dense (out, in)
    bias: Optional[np.ndarray]    # int64 bias mantissa per output channel, or None
    vth: int                      # vThMant
    scale: float = 1.0            # integer units per IR unit: IR current = integer current / scale
    op: object = field(default=None, repr=False)   # the IR Conv2d (stride, padding, ...) for conv

    def synapse(self, a: np.ndarray) -> np.ndarray:
        """a (N, *in) integers -> (N, *out) integer-valued float64 (exact: |sums| << 2**53)."""
        a = np.asarray(a, np.float64)
        if self.kind == "conv":
            return conv64(self.op, self.weight.astype(np.float64), a)
        return a.reshape(len(a), -1) @ self.weight.T.astype(np.float64)

    def bias_full(self, ndim: int) -> np.ndarray:
        """The bias mantissa broadcastable to a sample of ``ndim`` axes (channel first); 0 without bias."""
        if self.bias is None:
            return np.zeros(1, np.int64)
        return np.asarray(self.bias, np.int64).reshape((-1,) + (1,) * (ndim - 1))


def cuba(current: np.ndarray, bias: np.ndarray, vth: int) -> np.ndarray:
    """Spikes (T, N, ...) of Lava's fixed LIF (du = 4095, dv = 0) on integer currents (T, N, ...)."""
    u = np.asarray(current, np.int64) << 6
    u = np.where(u > 2 ** 23, u - 2 ** 24, np.where(u <= -2 ** 23, u + 2 ** 24, u))
    b, th = np.asarray(bias, np.int64) << 6, np.int64(vth) << 6
    v = np.zeros(u.shape[1:], np.int64)
    s = np.empty(u.shape, bool)
    for t in range(len(u)):
        v = np.clip(v + u[t] + b, -V_MAX, V_MAX)
        s[t] = v > th
        v[s[t]] = 0
    return s


def _int(a: np.ndarray) -> np.ndarray:
    return np.rint(a).astype(np.int64)


def readout_currents(blocks: list, xq: np.ndarray, T: int, batch: int = 64) -> np.ndarray:
    """(N, T, K) integer synaptic currents (W s(t))_k of the last block (bias not included) on the graded
    inputs ``xq`` (N, *input shape)."""
    out = []
    for a0 in range(0, len(xq), batch):
        x = np.asarray(xq[a0:a0 + batch], np.int64)
        c = _int(blocks[0].synapse(x))
        cur = np.broadcast_to(c, (T,) + c.shape)          # the input is the same every step
        for b, nxt in zip(blocks[:-1], blocks[1:]):
            s = cuba(cur, b.bias_full(cur.ndim - 2), b.vth)
            y = nxt.synapse(s.reshape((T * len(x),) + s.shape[2:]))
            cur = _int(y).reshape((T, len(x)) + y.shape[1:])
        out.append(cur.transpose(1, 0, 2))
    return np.concatenate(out)


def readout_spikes(currents: np.ndarray, bias, vth: int) -> np.ndarray:
    """Output spikes (N, T, K) of the readout block's CUBA neurons on its synaptic currents (N, T, K)."""
    return cuba(np.asarray(currents).transpose(1, 0, 2), np.asarray(bias, np.int64), vth).transpose(1, 0, 2)


def _reach(spikes: np.ndarray):
    """(top count (N,), step at which each class reached the top count (N, K); T + 1 for the others)."""
    s = np.asarray(spikes, bool)
    counts = s.sum(axis=1)
    top = counts.max(axis=1)
    first = (np.cumsum(s, axis=1) >= top[:, None, None]).argmax(axis=1)
    return top, np.where(counts == top[:, None], first, s.shape[1] + 1)


def predict(spikes: np.ndarray) -> np.ndarray:
    """Predicted class per sample from output spikes (N, T, K): most spikes; among classes tied on that
    count the one that reached it first (earliest last spike), then the lowest index; -1 when no output
    neuron spiked."""
    top, first = _reach(spikes)
    return np.where(top > 0, first.argmin(axis=1), -1)


def readout_stats(spikes: np.ndarray) -> dict:
    """Fractions of samples the count readout leaves undecided: no output spike at all (``silent``),
    two or more classes on the top count (``ties``), of which the reach time breaks none
    (``ties_unresolved``: decided by the lowest index)."""
    top, first = _reach(spikes)
    t = np.asarray(spikes).shape[1]
    tied = ((first <= t).sum(axis=1) > 1) & (top > 0)
    unresolved = ((first == first.min(axis=1, keepdims=True)).sum(axis=1) > 1) & (top > 0)
    return {"silent": float(np.mean(top == 0)), "ties": float(np.mean(tied)),
            "ties_unresolved": float(np.mean(unresolved))}
