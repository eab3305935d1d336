"""The lowering functions of the table in ``lower`` (one per IR op type)."""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Node, ops
from snnc.compiler.analysis.sop import fanout_maps
from snnc.runtime.lava.lower import Ctx, Signal, connect, lowers, pending_bias, to_lava

GRADED_BITS = 24


def _conv_process(ctx: Ctx, node: Node, sig: Signal, weight, stride, padding, dilation, groups):
    """A Lava Conv for an IR cross-correlation kernel (O, I, kH, kW) on (W, H, C) maps."""
    from lava.proc.conv.process import Conv
    pt, pl, pb, pr = padding
    if (pt, pl) != (pb, pr):
        raise BackendError(f"node {node.name!r}: asymmetric padding {padding} cannot be expressed by Lava's Conv")
    graded = check_input(ctx, node, sig)
    w = np.ascontiguousarray(np.flip(weight, axis=(2, 3)).transpose(0, 3, 2, 1))
    conv = ctx.add(Conv(weight=w, input_shape=tuple(sig.shape), padding=(pl, pt), stride=(stride[1], stride[0]),
                        dilation=(dilation[1], dilation[0]), groups=groups,
                        num_message_bits=GRADED_BITS if graded else 0, name=node.name))
    connect(sig, conv.s_in)
    return Signal([conv.a_out], sig.depth + 1, tuple(conv.a_out.shape), "current")


def check_input(ctx: Ctx, node: Node, sig: Signal) -> bool:
    """Whether a synapse's input is graded; refuse what has no exact form."""
    if sig.bias is not None:
        raise BackendError(f"node {node.name!r}: a synapse fed by a biased current is not supported")
    if sig.kind == "current" and ctx.num.fixed:
        raise BackendError(f"node {node.name!r}: a current (graded, not spikes) into a synapse has no fixed-point "
                           f"form (its scale would multiply the synapse's)")
    return sig.kind != "spike"


def _synapse(ctx: Ctx, node: Node) -> tuple:
    """(the synapse's weights, its weight exponent k_s from the plan: 0 in float and where a layer has one unit)."""
    p = ctx.plan.synapses.get(node.name)
    return ctx.num.weights(node), (int(p.shift) if p is not None and ctx.num.fixed else 0)


def _dense_args(ctx: Ctx, w, k: int) -> dict:
    return ctx.num.dense_args(w, k) if k else ctx.num.dense_args(w)


def _conv_weights(ctx: Ctx, node: Node):
    """A Lava Conv's weights: the integers in the layer's unit, mantissas << k_s (its weight_exp is ignored)."""
    w, k = _synapse(ctx, node)
    return w << k if k else w


def _delayed(ctx: Ctx, node: Node):
    """Stock mode: a residual branch's synapse built as a DelayDense (``stock.delayed_synapse``)."""
    k = ctx.delays.get(node.name, (0, ""))[0]
    if k <= 0:
        return None
    from snnc.runtime.lava.stock import delayed_synapse  # stock imports this module: import at call time
    w, shift = _synapse(ctx, node)
    return delayed_synapse(ctx, node, ctx.inp(node), w, k, shift)


@lowers(ops.Conv2d)
def lower_conv(ctx: Ctx, node: Node) -> Signal:
    op = node.op
    if (out := _delayed(ctx, node)) is not None:
        return out
    out = _conv_process(ctx, node, ctx.inp(node), _conv_weights(ctx, node), op.stride, op.padding,
                        op.dilation, op.groups)
    out.bias = pending_bias(node, op.bias)
    return out


@lowers(ops.Linear)
def lower_linear(ctx: Ctx, node: Node) -> Signal:
    from lava.proc.dense.process import Dense
    sig = ctx.inp(node)
    if len(sig.shape) != 1:
        raise BackendError(f"node {node.name!r}: Linear needs a vector input, got Lava shape {sig.shape}")
    if (out := _delayed(ctx, node)) is not None:
        return out
    graded = check_input(ctx, node, sig)
    dense = ctx.add(Dense(**_dense_args(ctx, *_synapse(ctx, node)),
                          num_message_bits=GRADED_BITS if graded else 0, name=node.name))
    connect(sig, dense.s_in)
    return Signal([dense.a_out], sig.depth + 1, node.shape, "current", pending_bias(node, node.op.bias))


@lowers(ops.ChannelAffine)
def lower_affine(ctx: Ctx, node: Node) -> Signal:
    """y = scale[c] x + shift[c]: a depthwise 1x1 synapse (the skip gain of a residual)."""
    from lava.proc.dense.process import Dense
    sig, c = ctx.inp(node), node.shape[0]
    if (out := _delayed(ctx, node)) is not None:
        return out
    if len(node.shape) == 3:
        scale = np.broadcast_to(_conv_weights(ctx, node), (c,))
        out = _conv_process(ctx, node, sig, scale.reshape(c, 1, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), c)
    else:
        graded = check_input(ctx, node, sig)
        w, k = _synapse(ctx, node)
        dense = ctx.add(Dense(**_dense_args(ctx, np.diag(np.broadcast_to(w, (c,))), k), name=node.name,
                              num_message_bits=GRADED_BITS if graded else 0))
        connect(sig, dense.s_in)
        out = Signal([dense.a_out], sig.depth + 1, node.shape, "current")
    out.bias = pending_bias(node, np.broadcast_to(node.op.shift, (c,)))
    return out


@lowers(ops.AvgPool2d, ops.GlobalAvgPool2d)
def lower_avgpool(ctx: Ctx, node: Node) -> Signal:
    """An average pool ``fuse`` could not fold into a neighbouring synapse: a depthwise Conv with
    all weights 1 / (kh * kw) (zero padding counted), floating point only."""
    if ctx.num.fixed:
        raise BackendError(f"node {node.name!r}: this {node.type} could not be fused into a neighbouring "
                           f"synapse, and a separate pool (weights 1/k^2, a graded current into the next "
                           f"synapse) has no fixed-point form; fixed point runs pools between spikes and a "
                           f"Linear / Conv, or right after a Conv (run without --fixed-point)")
    sig, (c, h, w) = ctx.inp(node), ctx.graph.node(node.inputs[0]).shape
    if node.type == "GlobalAvgPool2d":
        kernel, stride, pads = (h, w), (1, 1), (0, 0, 0, 0)
    else:
        kernel, stride, pads = node.op.kernel, node.op.stride, node.op.padding
        if node.op.ceil_mode or (any(pads) and not node.op.count_include_pad):
            raise BackendError(f"node {node.name!r}: AvgPool2d with ceil_mode or padding excluded from the "
                               f"count cannot be expressed as a Lava Conv")
    bias = sig.bias
    sig = Signal(sig.ports, sig.depth, sig.shape, sig.kind)
    weight = np.full((c, 1) + tuple(kernel), 1.0 / (kernel[0] * kernel[1]))
    out = _conv_process(ctx, node, sig, weight, stride, pads, (1, 1), c)
    out.bias = None if bias is None else pending_bias(node, bias[:, 0, 0])
    return out


@lowers(ops.IFNeuron)
def lower_neuron(ctx: Ctx, node: Node) -> Signal:
    sig = ctx.inp(node)
    if sig.kind != "current":
        raise BackendError(f"IFNeuron {node.name!r} must integrate a current, but its input carries "
                           f"{'spikes' if sig.kind == 'spike' else 'the graded network input (no synapse)'}")
    bias = np.zeros(node.shape) if sig.bias is None else sig.bias
    neuron = ctx.add(ctx.kit.neuron(ctx, node, sig, ctx.num.bias(node.name, to_lava(bias), lava=True)))
    connect(sig, neuron.a_in)
    ctx.net.counters[node.name] = ctx.kit.count(ctx, node, neuron, sig, _fanouts(ctx)[node.name])
    ctx.net.neurons[node.name] = neuron
    return Signal([neuron.s_out], sig.depth, sig.shape, "spike")


def _fanouts(ctx: Ctx) -> dict:
    """Exact fan-out maps (the NumPy simulator's, so SOP counts agree), computed once per graph."""
    if "fanout" not in ctx.cache:
        ctx.cache["fanout"] = fanout_maps(ctx.graph)
    return ctx.cache["fanout"]


@lowers(ops.MaxPool2d)
def lower_maxpool(ctx: Ctx, node: Node) -> Signal:
    sig = ctx.inp(node)
    if sig.kind != "current":
        raise BackendError(f"MaxPool2d {node.name!r} pools spikes; the Lava backend pools input currents only "
                           f"(compile with pre-neuron or cumulative pooling)")
    return ctx.kit.maxpool(ctx, node, sig)


@lowers(ops.Flatten)
def lower_flatten(ctx: Ctx, node: Node) -> Signal:
    sig = ctx.inp(node)
    ports = [p.transpose([2, 1, 0]).reshape(node.shape) if len(sig.shape) == 3 else p for p in sig.ports]
    bias = None if sig.bias is None else sig.bias.reshape(-1)
    return Signal(ports, sig.depth, node.shape, sig.kind, bias)


@lowers(ops.Identity)
def lower_identity(ctx: Ctx, node: Node) -> Signal:
    return ctx.inp(node)


@lowers(ops.Add)
def lower_add(ctx: Ctx, node: Node) -> Signal:
    """Residual fan-in: all branches into one a_in, the shorter ones delayed to the longest's depth."""
    sigs = [ctx.signals[i] for i in node.inputs]
    depth = max(s.depth for s in sigs)
    ports, bias = [], None
    for i, s in zip(node.inputs, sigs):
        if s.kind == "spike" and ctx.num.fixed:
            raise BackendError(f"Add {node.name!r}: spikes of {i!r} enter without a synapse; in fixed point "
                               f"route them through a ChannelAffine gain")
        if s.depth < depth:
            s = ctx.kit.delay(ctx, s, depth - s.depth, f"{i}->{node.name}")
        ports += s.ports
        if s.bias is not None:
            bias = s.bias if bias is None else bias + s.bias
    return Signal(ports, depth, sigs[0].shape, "current", bias)
