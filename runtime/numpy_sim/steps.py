"""Time-batched kernels of the fast simulator: the IF scan and the cumulative max pool.

Both work on a chunk of ``tc`` steps laid out t-major, (tc * N, *shape), and
carry their state between chunks. The elementwise recurrences below are
exactly those of ``IFNeuron`` (see ``snnc.compiler.ir.ops``) and algorithms.md
sections 1 and 4; the reference stepper (``reference.py``) computes the same
float32 operations one step at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.compiler.ir import IFNeuron, MaxPool2d
from snnc.compiler.ir.ops.geometry import channel_view
from snnc.runtime.numpy_sim.fastops import run_op


@dataclass
class NeuronState:
    """Membrane v (N, *shape) of one IF layer plus its broadcast threshold."""

    op: IFNeuron
    v: np.ndarray
    theta: np.ndarray
    unit: bool

    @staticmethod
    def start(op: IFNeuron, n: int, shape) -> "NeuronState":
        nd = len(shape) + 1
        v = np.broadcast_to(channel_view(np.asarray(op.v_init, np.float32), nd), (n,) + tuple(shape))
        v = v.astype(np.float32)
        return NeuronState(op, v, channel_view(np.asarray(op.threshold, np.float32), nd), bool(np.all(op.threshold == 1)))


def if_scan(st: NeuronState, current: np.ndarray, tc: int, const: bool):
    """Run ``tc`` IF steps; return (x(t) as (tc * N, *shape) float32, spikes (tc, N, *shape) bool).

    For t in the chunk::

        v <- v + I(t);  s <- v >= theta;  v <- v - s * theta  (subtract)  or  v <- 0 where s  (zero)

    ``const``: ``current`` is one (N, *shape) current applied every step.
    """
    v = st.v
    cur = current if const else current.reshape((tc,) + v.shape)
    spikes = np.empty((tc,) + v.shape, bool)
    buf = None if st.unit and st.op.reset == "subtract" else np.empty(v.shape, np.float32)
    for t in range(tc):   # plain ufuncs with out=: `where=` masks are ~10x slower here
        np.add(v, cur if const else cur[t], out=v)
        s = np.greater_equal(v, st.theta, out=spikes[t])
        if st.op.reset == "zero":
            np.logical_not(s, out=buf, casting="unsafe")
            np.multiply(v, buf, out=v)
        elif st.unit:
            np.subtract(v, s, out=v)
        else:
            np.multiply(s, st.theta, out=buf)
            np.subtract(v, buf, out=v)
    flat = spikes.reshape((tc * v.shape[0],) + v.shape[1:])
    x = flat.astype(np.float32) if st.unit else flat * st.theta
    return x, spikes


@dataclass
class CumulativePoolState:
    """Running sums C (N, *in_shape) of a cumulative max pool and its previous maximum M(t-1)."""

    op: MaxPool2d
    c: np.ndarray
    m_prev: np.ndarray

    @staticmethod
    def start(op: MaxPool2d, n: int, in_shape, out_shape) -> "CumulativePoolState":
        return CumulativePoolState(op, np.zeros((n,) + tuple(in_shape), np.float32),
                                   np.zeros((n,) + tuple(out_shape), np.float32))


def cumulative_pool(st: CumulativePoolState, current: np.ndarray, tc: int) -> np.ndarray:
    """J(t) = max_i C_i(t) - max_i C_i(t-1) with C_i(t) = C_i(t-1) + I_i(t), C(0) = 0, for a chunk."""
    n = st.c.shape[0]
    cur = current.reshape((tc,) + st.c.shape)
    sums = np.empty_like(cur)
    for t in range(tc):
        np.add(st.c, cur[t], out=st.c)
        sums[t] = st.c
    m = run_op(st.op, sums.reshape((tc * n,) + st.c.shape[1:])).reshape((tc,) + st.m_prev.shape)
    j = np.empty_like(m)
    np.subtract(m[0], st.m_prev, out=j[0])
    np.subtract(m[1:], m[:-1], out=j[1:])
    st.m_prev = m[-1].copy()
    return j.reshape((tc * n,) + st.m_prev.shape[1:])
