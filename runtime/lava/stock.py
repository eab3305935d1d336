"""The stock-process kit (``--stock-lif``): only processes that ship with lava-nc 0.10.

For deployments that allow no custom ProcessModel. Every part of the custom
kit (``custom``) is replaced by stock processes, or refused by name:

==================  ==============================================================
input               ``io.source.RingBuffer``: the analog input as graded spikes
                    (fixed: x_q = round(x * 2**ib), ``numerics``) into the first
                    synapse, a stock ``Conv`` / ``Dense`` with num_message_bits=24
                    (no host current source: the first layer runs on Lava)
neurons             ``LIFReset``: du = 4095 (fixed) / 1.0 (float) clears the
                    current every step, dv = 0, reset to zero, spike on v > vth,
                    v(0) = 0, state cleared at each sample window's start
spike counts        a stock ``Dense`` of 0/1 rows, one per distinct fan-out value
                    f_r of the layer, into an ``io.sink.RingBuffer``; the host sums
                    spikes = sum_r c_r(t) and SOPs = sum_r f_r c_r(t) (exact; one
                    step of latency, accounted for)
readout             ``io.sink.RingBuffer`` on the last synapse's output; the host adds
                    the bias (fixed: I = (a << 6) + bias, as the custom readout does)
residual delay      ``DelayDense``: the shorter branch's synapse as a dense matrix with
                    delay k (``snnc.compiler.lower.walk.branch_delays``); a branch without a
                    synapse to carry the delay is refused
average pools       fused into the next synapse (``fuse``) or a stock depthwise ``Conv``
max pool (current)  none in lava-nc: ``BackendError`` naming the node
==================  ==============================================================
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.lower.quantize import split_bias
from snnc.runtime.lava.lower import Ctx, Kit, Signal, batch_to_lava, connect, pending_bias, to_lava
from snnc.runtime.lava.lower_ops import GRADED_BITS, check_input

MAX_DENSE = 2 ** 22     # entries of a DelayDense matrix (a residual branch unrolled)


def inject(ctx: Ctx, name: str, values) -> Signal:
    """The graph input, every sample held for T steps, as graded spikes from a RingBuffer (depth 0)."""
    from lava.proc.io.source import RingBuffer
    xs = ctx.num.inputs(batch_to_lava(values))                       # (n, *Lava shape)
    shape = xs.shape[1:]
    data = np.zeros(shape + (ctx.steps,), xs.dtype)
    data[..., :ctx.n * ctx.T] = np.moveaxis(np.repeat(xs, ctx.T, axis=0), 0, -1)
    src = ctx.add(RingBuffer(data=data))
    return Signal([src.s_out], 0, shape, "input")


def neuron(ctx: Ctx, node, sig: Signal, bias):
    """Lava's LIFReset: reset to zero, v > vth, state cleared when the sample window starts."""
    from lava.proc.lif.process import LIFReset
    vth, _ = ctx.num.neuron(node)
    if np.unique(vth).size != 1:
        raise BackendError(f"IFNeuron {node.name!r}: stock LIF takes one threshold per layer, got per-channel ones")
    common = dict(shape=tuple(sig.shape), dv=0, reset_interval=ctx.T, reset_offset=sig.depth + 1, name=node.name)
    if ctx.num.fixed:
        mant, exp = split_bias(bias)
        return LIFReset(du=4095, vth=int(vth.flat[0]), bias_mant=mant, bias_exp=exp, **common)
    return LIFReset(du=1.0, vth=float(vth.flat[0]), bias_mant=bias, bias_exp=0, **common)


def count(ctx: Ctx, node, proc, sig: Signal, fanout: np.ndarray):
    """A Dense grouping the neurons by fan-out into a sink: per step c_r = spikes of group r."""
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer
    fan = to_lava(fanout).reshape(-1)
    values = np.unique(fan)
    groups = (fan[None, :] == values[:, None]).astype(np.int64)
    dense = ctx.add(Dense(**_weights(ctx, groups), name=f"count:{node.name}"))
    port = proc.s_out.flatten() if len(sig.shape) > 1 else proc.s_out
    port.connect(dense.s_in)
    sink = ctx.add(RingBuffer(shape=(len(values),), buffer=ctx.steps))
    dense.a_out.connect(sink.a_in)
    start = sig.depth + 1  # the spikes of (s, tau) leave the neuron at s T + tau + depth + 1, the Dense a step later

    def read():
        c = np.asarray(sink.data.get())[:, start:start + ctx.n * ctx.T].reshape(len(values), ctx.n, ctx.T)
        c = np.rint(c).astype(np.int64)
        return c.sum(axis=(0, 1)), (c * values.astype(np.int64)[:, None, None]).sum(axis=(0, 1))
    return read


def readout(ctx: Ctx, name: str, sig: Signal, bias):
    """A sink on the output synapse; I(t) = a(t) + bias (fixed: (a << 6) + bias) on the host."""
    from lava.proc.io.sink import RingBuffer
    sink = ctx.add(RingBuffer(shape=tuple(sig.shape), buffer=ctx.steps))
    connect(sig, sink.a_in)

    def read():
        a = np.asarray(sink.data.get())[..., sig.depth:sig.depth + ctx.n * ctx.T]
        a = np.moveaxis(a.reshape(a.shape[:-1] + (ctx.n, ctx.T)), (-2, -1), (0, 1))
        if ctx.num.fixed:
            return (np.rint(a).astype(np.int64) << 6) + np.asarray(bias, np.int64)
        return a + bias
    return read


def delay(ctx: Ctx, sig: Signal, k: int, label: str) -> Signal:
    raise BackendError(f"branch {label}: it needs a {k}-step delay but does not end in a synapse; stock "
                       f"mode delays a branch through its synapse (DelayDense) only")


def maxpool(ctx: Ctx, node, sig: Signal) -> Signal:
    raise BackendError(f"MaxPool2d {node.name!r}: lava-nc has no stock process for a max pool over currents; "
                       f"run without --stock-lif (custom MaxPoolCurrent) or use a network without max pools")


def delayed_synapse(ctx: Ctx, node, sig: Signal, w, k: int, shift: int = 0) -> Signal:
    """``node``'s synapse as a stock DelayDense (weights unrolled, all delays k): k + 1 steps of latency;
    ``w`` its mantissas, ``shift`` its weight exponent (the DelayDense's ``weight_exp``)."""
    from lava.proc.dense.process import DelayDense
    graded = check_input(ctx, node, sig)
    in_shape = ctx.graph.node(node.inputs[0]).shape
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(node.shape))
    if n_in * n_out > MAX_DENSE:
        raise BackendError(f"node {node.name!r}: its residual branch needs a {k}-step delay, and stock Lava has "
                           f"no delayed Conv; as a DelayDense it would take {n_in} x {n_out} weights (limit "
                           f"{MAX_DENSE:,})")
    m = _lava_matrix(node, w, in_shape)
    if ctx.num.fixed:
        m = np.rint(m).astype(np.int64)
    dd = ctx.add(DelayDense(**_weights(ctx, m, shift), delays=np.full(m.shape, k, np.int64),
                            num_message_bits=GRADED_BITS if graded else 0, name=node.name))
    for p in sig.ports:
        (p.flatten() if len(sig.shape) > 1 else p).connect(dd.s_in)
    out_shape = to_lava(np.empty(node.shape)).shape
    port = dd.a_out.reshape(out_shape) if len(out_shape) > 1 else dd.a_out
    op = node.op
    bias = pending_bias(node, np.broadcast_to(op.shift, (node.shape[0],)) if node.type == "ChannelAffine" else op.bias)
    return Signal([port], sig.depth + 1 + k, out_shape, "current", bias)


def _lava_matrix(node, w, in_shape) -> np.ndarray:
    """The synapse's linear map (no bias) as (out, in) in Lava's flattened (W, H, C) orders."""
    from dataclasses import replace
    from snnc.compiler.execute import apply
    n_in = int(np.prod(in_shape))
    if node.type == "Linear":
        m = np.asarray(w, np.float64)
    elif node.type == "ChannelAffine":
        m = np.diag(np.broadcast_to(np.asarray(w, np.float64).reshape((-1,) + (1,) * (len(in_shape) - 1)),
                                    in_shape).reshape(-1))
    else:  # Conv2d on one-hot images: each column is the kernel placed (exact in float32)
        op = replace(node.op, weight=np.asarray(w, np.float32), bias=None)
        m = apply(op, np.eye(n_in, dtype=np.float32).reshape((n_in,) + tuple(in_shape))).reshape(n_in, -1).T
    perm = lambda shape: to_lava(np.arange(int(np.prod(shape))).reshape(shape)).reshape(-1)  # noqa: E731
    return np.asarray(m, np.float64)[np.ix_(perm(node.shape), perm(in_shape))]


def _weights(ctx: Ctx, m: np.ndarray, shift: int = 0) -> dict:
    if not ctx.num.fixed:
        return {"weights": np.asarray(m, np.float64)}
    return ctx.num.dense_args(m, shift) if shift else ctx.num.dense_args(m)


STOCK = Kit("stock", inject, neuron, count, readout, delay, maxpool, latency=1)
