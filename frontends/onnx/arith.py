"""Element-wise arithmetic: Add, Sub, Mul, Div.

Two run-time tensors of one shape add (residual ``Add``). With a constant
``c`` that is per channel (shape (C, 1, 1), (1, C, 1, 1), (C,) for vectors) or
a scalar, every op is the channel affine map y = scale * x + shift:

====================  =========  =========
op                    scale      shift
====================  =========  =========
x + c                 1          c
x - c                 1          -c
c - x                 -1         c
x * c                 c          0
x / c                 1 / c      0
====================  =========  =========

``MatMul`` followed by ``Add`` of a bias vector becomes one ``Linear``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import Add, ChannelAffine, Linear
from snnc.frontends.onnx.registry import handler

_ONE, _ZERO = np.ones(1, np.float32), np.zeros(1, np.float32)


def _name(node):
    return node.name or node.output[0]


def per_channel(node, c: np.ndarray, shape) -> np.ndarray:
    """``c`` (broadcast against (N, *shape)) as a (C,) or (1,) vector; reject spatial variation."""
    c = np.asarray(c, np.float32)
    lead = c.ndim - len(shape)
    if lead > 0:
        if any(d != 1 for d in c.shape[:lead]):
            raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) broadcasts a constant of shape "
                                        f"{c.shape} over the batch axis")
        c = c.reshape(c.shape[lead:])
    c = c.reshape((1,) * (len(shape) - c.ndim) + c.shape)
    if c.ndim and any(d != 1 for d in c.shape[1:]):
        raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) combines a tensor of per-sample shape "
                                    f"{tuple(shape)} with a constant of shape {c.shape} that varies beyond the "
                                    f"channel axis; snnc supports per-channel or scalar constants")
    return c.reshape(-1) if c.size > 1 else c.reshape(1)


def _split(ctx, node):
    """(run-time tensor, constant or None, constant is the left operand)."""
    a, b = node.input[:2]
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is not None and cb is None:
        return b, ca, True
    return a, cb, False


def _affine(ctx, node, x_t, scale, shift):
    x = ctx.ir(node, x_t)
    op = ChannelAffine(np.asarray(scale, np.float32).reshape(-1), np.asarray(shift, np.float32).reshape(-1))
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))


def _fold_bias(ctx, node, x_t, c) -> bool:
    """MatMul + Add(bias): give the Linear its bias when the Add is the Linear's only reader."""
    x = ctx.values.get(x_t)
    entry = next((i for i, s in enumerate(ctx.spec) if s[0] == x), None) if isinstance(x, str) else None
    if entry is None or ctx.uses[x_t] != 1 or x_t in ctx.graph_outputs:
        return False
    name, op, inputs = ctx.spec[entry]
    if not isinstance(op, Linear) or op.bias is not None:
        return False
    bias = np.broadcast_to(c, (op.weight.shape[0],)).astype(np.float32)
    ctx.spec[entry] = (name, replace(op, bias=bias), inputs)
    ctx.tensor_map.pop(x_t, None)  # the node now computes x @ W + b, not the MatMul alone
    ctx.bind(node.output[0], name)
    return True


@handler("Sum", ir="Add", notes="run-time tensors of one shape")
def add_all(ctx, node):
    xs = [ctx.ir(node, t) for t in node.input]
    if len({ctx.shapes[x] for x in xs}) > 1:
        raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) broadcasts run-time tensors of "
                                    f"per-sample shapes {[ctx.shapes[x] for x in xs]}; snnc adds tensors of one shape")
    ctx.bind(node.output[0], ctx.emit(node, Add(), xs))


@handler("Add", ir="Add / ChannelAffine", notes="residual add of equal shapes; + per-channel or scalar constant")
def add(ctx, node):
    x_t, c, _ = _split(ctx, node)
    if c is None:
        add_all(ctx, node)
        return
    shift = per_channel(node, c, ctx.onnx_shape(x_t)[1:])
    if not _fold_bias(ctx, node, x_t, shift):
        _affine(ctx, node, x_t, _ONE, shift)


@handler("Sub", ir="ChannelAffine", notes="with a per-channel or scalar constant on either side")
def sub(ctx, node):
    x_t, c, left = _split(ctx, node)
    if c is None:
        raise UnsupportedModelError(f"node {_name(node)!r} (Sub) subtracts two run-time tensors; snnc "
                                    f"supports subtracting a constant")
    c = per_channel(node, c, ctx.onnx_shape(x_t)[1:])
    _affine(ctx, node, x_t, -_ONE if left else _ONE, c if left else -c)


@handler("Mul", "Div", ir="ChannelAffine", notes="by a per-channel or scalar constant (Div: constant divisor)")
def mul_div(ctx, node):
    x_t, c, left = _split(ctx, node)
    if c is None or (left and node.op_type == "Div"):
        raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) combines run-time tensors "
                                    f"multiplicatively; snnc supports scaling by a constant")
    c = per_channel(node, c, ctx.onnx_shape(x_t)[1:])
    _affine(ctx, node, x_t, 1.0 / c if node.op_type == "Div" else c, _ZERO)
