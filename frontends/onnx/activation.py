"""Activations an integrate-and-fire neuron can represent: ReLU and clipped ReLU.

An IF neuron's firing rate is clip(z, 0, theta) of its input current z, so
ReLU (theta from calibration) and Clip(0, a) / ReLU6 (theta <= a) convert; a
final Softmax does not change the argmax and is dropped with a note.
"""
from __future__ import annotations

import math

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import Clip, ReLU
from snnc.frontends.onnx.registry import activation_message, attrs, handler


@handler("Relu", ir="ReLU")
def relu(ctx, node):
    ctx.bind(node.output[0], ctx.emit(node, ReLU(), [ctx.ir(node, node.input[0])]))


def clip_bounds(ctx, node) -> tuple[float, float]:
    """(lo, hi) from attributes (opset < 11) or constant inputs; absent bounds are -inf / +inf."""
    at = attrs(node)
    lo, hi = at.get("min", -math.inf), at.get("max", math.inf)
    if len(node.input) > 1 and node.input[1]:
        lo = float(ctx.need_const(node, node.input[1], "min").reshape(()))
    if len(node.input) > 2 and node.input[2]:
        hi = float(ctx.need_const(node, node.input[2], "max").reshape(()))
    return float(lo), float(hi)


@handler("Clip", ir="Clip", notes="ReLU6 / Clip(0, a); min, max as attributes (opset < 11) or constant inputs")
def clip(ctx, node):
    lo, hi = clip_bounds(ctx, node)
    if lo != 0.0 or hi <= 0.0:
        raise UnsupportedModelError(activation_message(f"Clip({lo:g}, {hi:g})", node.name or node.output[0])
                                    + " (only Clip(0, a) with a > 0, e.g. ReLU6, converts)")
    op = ReLU() if math.isinf(hi) else Clip(0.0, hi)
    ctx.bind(node.output[0], ctx.emit(node, op, [ctx.ir(node, node.input[0])]))


@handler("Softmax", "LogSoftmax", ir="(dropped)",
         notes="only as the model's last op: dropped (the argmax is unchanged), noted in graph.meta['notes']")
def softmax(ctx, node):
    name = node.name or node.output[0]
    if node.output[0] not in ctx.graph_outputs:
        raise UnsupportedModelError(activation_message(node.op_type, name))
    ctx.bind(node.output[0], ctx.ir(node, node.input[0]), record=False)
    ctx.notes.append(f"{node.op_type} node {name!r} at the output was dropped: the network outputs "
                     f"logits (the argmax is unchanged)")
