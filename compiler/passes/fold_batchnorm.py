"""Batch-norm folding (algorithms.md section 3).

For a Conv2d / Linear whose only reader is a BatchNorm (eval statistics)::

    g  = gamma / sqrt(var + eps)
    W' = W * g[c]             (per output channel c)
    b' = beta + g * (b - mean)

The fused synaptic layer keeps the Conv/Linear's name; readers of the BN read
it. This is exact (up to float rounding).

A BatchNorm without such a producer (after a ReLU, a pool, the input, or a
Conv that has other readers) becomes ``ChannelAffine(scale=g, shift=beta -
g * mean)``, the same function; the ``fold_affine`` pass then tries to fold it
forward into the next synaptic layer, and the change log says why it was not
folded here.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import BatchNorm, ChannelAffine, Conv2d, Graph, Linear
from snnc.compiler.ir.ops.geometry import channel_view
from snnc.compiler.passes.base import PassResult, at_node, f32, rebuild, replace_op, sole_consumer


def bn_affine(bn: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """(g, shift) with BN(x) = g * x + shift, in float64."""
    g = bn.gamma.astype(np.float64) / np.sqrt(bn.var.astype(np.float64) + bn.eps)
    return g, bn.beta.astype(np.float64) - g * bn.mean.astype(np.float64)


def fuse(op, bn: BatchNorm):
    """The Conv2d/Linear ``op`` followed by ``bn`` as one op."""
    g, shift = bn_affine(bn)
    w = op.weight.astype(np.float64)
    w = w * channel_view(g, w.ndim, batch=False)
    b = np.zeros(w.shape[0]) if op.bias is None else op.bias.astype(np.float64)
    return replace_op(op, weight=f32(w), bias=f32(g * b + shift))


def fold_batchnorm(graph: Graph) -> PassResult:
    fused = {}  # producer name -> bn node
    for n in graph.nodes:
        if isinstance(n.op, (Conv2d, Linear)):
            user = sole_consumer(graph, n.name)
            if user is not None and isinstance(user.op, BatchNorm):
                fused[n.name] = user
    absorbed = {bn.name: prod for prod, bn in fused.items()}
    spec, changes = [], []
    for n in graph.nodes:
        if n.name in fused:
            spec.append((n.name, at_node(fused[n.name].name, fuse, n.op, fused[n.name].op), n.inputs))
            changes.append(f"folded BatchNorm {fused[n.name].name!r} into {n.type} {n.name!r}")
        elif n.name in absorbed:
            continue
        elif isinstance(n.op, BatchNorm):
            g, shift = bn_affine(n.op)
            scale, shift = at_node(n.name, lambda: (f32(g), f32(shift)))
            spec.append((n.name, ChannelAffine(scale=scale, shift=shift), n.inputs))
            changes.append(f"BatchNorm {n.name!r} not folded backward: {_why(graph, n)}; "
                           f"became ChannelAffine")
        else:
            spec.append((n.name, n.op, n.inputs))
    if not changes:
        return PassResult(graph, [])
    return PassResult(rebuild(graph, spec, absorbed), changes)


def _why(graph: Graph, bn) -> str:
    prod = graph.node(bn.inputs[0])
    if not isinstance(prod.op, (Conv2d, Linear)):
        return f"its producer {prod.name!r} is a {prod.type}, not a Conv2d/Linear"
    return f"its producer {prod.name!r} has other readers or is a graph output"
