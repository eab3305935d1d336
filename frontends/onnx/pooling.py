"""Pooling: MaxPool, AveragePool, GlobalAveragePool and spatial ReduceMean.

torch's dynamo exporter writes adaptive average pooling to 1x1 as
``ReduceMean(x, axes=[2, 3] or [-2, -1], keepdims=1)``; with keepdims=0 the
result is the flat (N, C) vector (GlobalAvgPool2d then Flatten).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import AvgPool2d, Flatten, GlobalAvgPool2d, MaxPool2d
from snnc.frontends.onnx.conv import window_attrs
from snnc.frontends.onnx.registry import attrs, handler


def _name(node):
    return node.name or node.output[0]


def _input(ctx, node):
    x = ctx.ir(node, node.input[0])
    if len(ctx.shapes[x]) != 3:
        raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) pools a tensor of per-sample shape "
                                    f"{ctx.shapes[x]}; snnc pools (C, H, W) feature maps only")
    return x


@handler("MaxPool", ir="MaxPool2d", notes="kernel, strides, pads, auto_pad, dilations, ceil_mode")
def maxpool(ctx, node):
    at = attrs(node)
    x = _input(ctx, node)
    if any(ctx.uses[o] for o in node.output[1:] if o):
        raise UnsupportedModelError(f"node {_name(node)!r} (MaxPool) returns indices, which snnc cannot compute")
    kernel = tuple(at["kernel_shape"])
    wa = window_attrs(node, at, ctx.shapes[x][1:], kernel)
    op = MaxPool2d(kernel, wa["stride"], wa["padding"], wa["dilation"], bool(at.get("ceil_mode", 0)))
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))


@handler("AveragePool", ir="AvgPool2d", notes="kernel, strides, pads, auto_pad, ceil_mode, count_include_pad")
def avgpool(ctx, node):
    at = attrs(node)
    x = _input(ctx, node)
    kernel = tuple(at["kernel_shape"])
    wa = window_attrs(node, at, ctx.shapes[x][1:], kernel)
    if wa["dilation"] != (1, 1):
        raise UnsupportedModelError(f"node {_name(node)!r} (AveragePool) is dilated; snnc supports dilation 1")
    op = AvgPool2d(kernel, wa["stride"], wa["padding"], bool(at.get("ceil_mode", 0)),
                   bool(at.get("count_include_pad", 0)))
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))


@handler("GlobalAveragePool", ir="GlobalAvgPool2d")
def global_avgpool(ctx, node):
    ctx.bind(node.output[0], ctx.emit(node, GlobalAvgPool2d(), [_input(ctx, node)]))


@handler("ReduceMean", ir="GlobalAvgPool2d (+ Flatten)",
         notes="over the spatial axes (2, 3) only; keepdims 0/1; axes as attribute or input (opset >= 18)")
def reduce_mean(ctx, node):
    at = attrs(node)
    x = _input(ctx, node)
    axes = at.get("axes")
    if len(node.input) > 1 and node.input[1]:
        axes = ctx.need_const(node, node.input[1], "axes")
    axes = sorted(int(a) % 4 for a in np.asarray(axes if axes is not None else [], dtype=np.int64).ravel())
    if axes != [2, 3]:
        raise UnsupportedModelError(f"node {_name(node)!r} (ReduceMean) averages over axes {axes}; snnc "
                                    f"supports the spatial mean over axes [2, 3] (global average pooling)")
    if at.get("keepdims", 1):
        ctx.bind(node.output[0], ctx.emit(node, GlobalAvgPool2d(), [x]))
    else:
        pooled = ctx.emit(node, GlobalAvgPool2d(), [x], suffix="_pool")
        ctx.bind(node.output[0], ctx.emit(node, Flatten(), [pooled]))
