"""Fold a per-channel affine (a lone BatchNorm) forward into the next synaptic layer.

For ``y = W (s * x + t) + b`` (s, t per input channel k):

    Linear:  W'[:, k] = W[:, k] * s[k],   b' = b + W @ t
    Conv2d:  W'[o, i] = W[o, i] * s[k(o, i)],
             b'[o]    = b[o] + sum_{i, kh, kw} W[o, i, kh, kw] * t[k(o, i)]

with k(o, i) the input channel of group g(o). The conv rule is exact only
without zero padding or with t = 0: the original pads the *shifted* map with
zeros, so border outputs would wrongly receive the shift. Such affines (and
those whose reader is not a Conv2d/Linear) stay in the graph as a synaptic
per-channel affine, and the change log says so. An affine in front of a
Flatten first moves past it (its (C,) parameters repeat over each channel's
block of H*W features), so it can fold into the Linear after the Flatten.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import ChannelAffine, Conv2d, Flatten, Graph, Linear
from snnc.compiler.ir.ops.geometry import conv_in_channel_map, per_channel
from snnc.compiler.passes.base import PassResult, f32, rebuild, replace_op, sole_consumer, spec_of


def _fold_into(op, s: np.ndarray, t: np.ndarray):
    w = op.weight.astype(np.float64)
    b = np.zeros(w.shape[0]) if op.bias is None else op.bias.astype(np.float64)
    if isinstance(op, Linear):
        return replace_op(op, weight=f32(w * s[None, :]), bias=f32(b + w @ t))
    k = conv_in_channel_map(w, op.groups)
    b = b + (w.sum(axis=(2, 3)) * t[k]).sum(axis=1)
    return replace_op(op, weight=f32(w * s[k][:, :, None, None]), bias=f32(b))


def _step(graph: Graph):
    """One rewrite (or None): fold an affine into its reader, or move it past a Flatten."""
    for n in graph.nodes:
        if not isinstance(n.op, ChannelAffine):
            continue
        user = sole_consumer(graph, n.name)
        if user is None:
            continue
        c = graph.node(n.inputs[0]).shape[0]
        s, t = per_channel(n.op.scale, c), per_channel(n.op.shift, c)
        spec = spec_of(graph)
        if isinstance(user.op, Flatten):
            return _move_past_flatten(graph, n, user, s, t), f"moved ChannelAffine {n.name!r} past Flatten {user.name!r}"
        if isinstance(user.op, Linear) or (isinstance(user.op, Conv2d)
                                           and (not any(user.op.padding) or not np.any(t))):
            spec = [(x, _fold_into(op, s, t) if x == user.name else op, ins)
                    for x, op, ins in spec if x != n.name]
            return rebuild(graph, spec, {n.name: n.inputs[0]}), f"folded ChannelAffine {n.name!r} into {user.type} {user.name!r}"
    return None


def _move_past_flatten(graph: Graph, n, flat, s, t) -> Graph:
    """x -> affine -> flatten  becomes  x -> flatten -> affine (parameters repeated per block)."""
    block = int(np.prod(graph.node(n.inputs[0]).shape[1:]))
    moved = ChannelAffine(scale=f32(np.repeat(s, block)), shift=f32(np.repeat(t, block)))
    spec = []
    for x, op, ins in spec_of(graph):
        if x == n.name:
            continue
        if x == flat.name:
            spec += [(x, op, (n.inputs[0],)), (n.name, moved, (x,))]
        else:
            spec.append((x, op, tuple(n.name if i == flat.name else i for i in ins)))
    outputs = [n.name if o == flat.name else o for o in graph.outputs]
    return Graph.build(spec, outputs, graph.meta)


def fold_affine(graph: Graph) -> PassResult:
    changes = []
    while True:
        step = _step(graph)
        if step is None:
            break
        graph, msg = step
        changes.append(msg)
    for n in graph.of_type(ChannelAffine):
        changes.append(f"ChannelAffine {n.name!r} kept as a synaptic per-channel affine: {_why(graph, n)}")
    return PassResult(graph, changes)


def _why(graph: Graph, n) -> str:
    users = graph.consumers(n.name)
    if len(users) != 1 or n.name in graph.outputs:
        return "it has several readers or is a graph output"
    u = users[0]
    if isinstance(u.op, Conv2d):
        return (f"folding its shift into zero-padded Conv2d {u.name!r} is not exact "
                f"(the padding would receive the shift)")
    return f"its reader {u.name!r} is a {u.type}, not a Conv2d/Linear"
