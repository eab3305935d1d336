"""Weighted layers: Conv, Gemm, MatMul, BatchNormalization."""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.errors import GraphError, UnsupportedModelError
from snnc.compiler.ir import BatchNorm, Conv2d, Linear
from snnc.frontends.onnx.registry import attrs, handler


def _name(node):
    return node.name or node.output[0]


def auto_pads(auto_pad: str, size, kernel, stride, dilation) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) for ONNX auto_pad.

    SAME_*: out = ceil(in / s); total = max(0, (out - 1) * s + d * (k - 1) + 1 - in),
    split total // 2 at the start (SAME_UPPER puts the odd pixel at the end,
    SAME_LOWER at the start). VALID: no padding.
    """
    if auto_pad in ("", "NOTSET", "VALID"):
        return (0, 0, 0, 0)
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max(0, (math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n)
        small, big = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else big)
        end.append(big if auto_pad == "SAME_UPPER" else small)
    return (begin[0], begin[1], end[0], end[1])


AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _invalid(node, attr, value, valid: str) -> GraphError:
    return GraphError(f"node {_name(node)!r} ({node.op_type}): attribute {attr}={value} is invalid; "
                      f"valid: {valid} (ONNX {node.op_type} spec)")


def check_window(node, at, kernel) -> None:
    """The ONNX rules for a window op's attributes (GraphError naming the first broken one).

    ``auto_pad`` in {NOTSET, SAME_UPPER, SAME_LOWER, VALID} and not together
    with ``pads``; ``strides`` / ``dilations`` 2 entries >= 1; ``pads`` 4
    entries >= 0; ``kernel_shape``, when given, equal to the kernel (for Conv:
    the weight's trailing dimensions).
    """
    auto = at.get("auto_pad", "NOTSET")
    if auto not in AUTO_PADS + ("",):
        raise _invalid(node, "auto_pad", repr(auto), ", ".join(AUTO_PADS))
    if auto not in ("", "NOTSET") and "pads" in at:
        raise _invalid(node, "pads", list(at["pads"]), f"no pads with auto_pad={auto} (use one of the two)")
    for attr, lo, n in (("strides", 1, 2), ("dilations", 1, 2), ("pads", 0, 4)):
        if attr in at and (len(at[attr]) != n or min(at[attr]) < lo):
            raise _invalid(node, attr, list(at[attr]), f"{n} integers >= {lo}")
    if "kernel_shape" in at and tuple(at["kernel_shape"]) != tuple(kernel):
        raise _invalid(node, "kernel_shape", list(at["kernel_shape"]),
                       f"the weight's kernel size {list(kernel)} (or omit kernel_shape)")
    if min(kernel, default=1) < 1:
        raise _invalid(node, "kernel_shape", list(kernel), "2 integers >= 1")


def window_attrs(node, at, size, kernel) -> dict:
    """stride / padding / dilation of a 2-D window op (Conv, pools) from ONNX attributes."""
    if len(kernel) != 2:
        raise UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) has a {len(kernel)}-D window; "
                                    f"snnc supports 2-D (N, C, H, W) feature maps only")
    check_window(node, at, kernel)
    stride = tuple(at.get("strides", (1, 1)))
    dilation = tuple(at.get("dilations", (1, 1)))
    auto = at.get("auto_pad", "NOTSET")
    if auto in ("", "NOTSET"):
        padding = tuple(at.get("pads", (0, 0, 0, 0)))
    else:
        padding = auto_pads(auto, size, kernel, stride, dilation)
    return {"stride": stride, "padding": padding, "dilation": dilation}


@handler("Conv", ir="Conv2d", notes="groups (incl. depthwise), dilations, pads, auto_pad SAME_UPPER/SAME_LOWER/VALID")
def conv(ctx, node):
    at = attrs(node)
    x = ctx.ir(node, node.input[0])
    w = ctx.need_const(node, node.input[1], "the weight").astype(np.float32)
    b = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if w.ndim != 4:
        raise UnsupportedModelError(f"node {_name(node)!r} (Conv) has a {w.ndim - 2}-D kernel; snnc supports Conv2d only")
    wa = window_attrs(node, at, ctx.shapes[x][1:], w.shape[2:])
    op = Conv2d(w, None if b is None else b.astype(np.float32), groups=int(at.get("group", 1)), **wa)
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))


@handler("Gemm", ir="Linear", notes="transB, alpha, beta; A must be the run-time input (transA=0)")
def gemm(ctx, node):
    at = attrs(node)
    if at.get("transA", 0):
        raise UnsupportedModelError(f"node {_name(node)!r} (Gemm) transposes its input (transA=1); snnc "
                                    f"supports Gemm(x, W) with x of shape (N, features)")
    x = ctx.ir(node, node.input[0])
    b = ctx.need_const(node, node.input[1], "the weight").astype(np.float32)
    w = at.get("alpha", 1.0) * (b if at.get("transB", 0) else b.T)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        c = ctx.need_const(node, node.input[2], "the bias").astype(np.float32)
        bias = np.broadcast_to(at.get("beta", 1.0) * gemm_bias(node, c, w.shape[0]), (w.shape[0],))
        bias = bias.astype(np.float32)
    ctx.bind(node.output[0], ctx.emit(node, Linear(w.astype(np.float32), bias), [x]))


def gemm_bias(node, c: np.ndarray, m: int) -> np.ndarray:
    """Gemm's C as a per-output vector: C must broadcast to (N, M) (unidirectionally) and not vary over N."""
    if c.ndim > 2 or (c.ndim >= 1 and c.shape[-1] not in (1, m)) or (c.ndim == 2 and c.shape[0] != 1):
        raise GraphError(f"node {_name(node)!r} (Gemm): bias C of shape {list(c.shape)} does not broadcast to "
                         f"the output (N, {m}); valid: a scalar, ({m},), (1, {m}) or (1, 1)")
    return c.reshape(-1)


@handler("MatMul", ir="Linear", notes="x @ W with constant W; a following Add of a bias folds into the Linear")
def matmul(ctx, node):
    if ctx.const(node.input[0]) is not None:
        raise UnsupportedModelError(f"node {_name(node)!r} (MatMul) multiplies a constant by the run-time "
                                    f"tensor from the left; snnc supports x @ W")
    x = ctx.ir(node, node.input[0])
    w = ctx.need_const(node, node.input[1], "the weight matrix")
    if w.ndim != 2 or len(ctx.shapes[x]) != 1:
        raise UnsupportedModelError(f"node {_name(node)!r} (MatMul) multiplies a tensor of per-sample shape "
                                    f"{ctx.shapes[x]} by {w.shape}; snnc supports (N, F) @ (F, M)")
    ctx.bind(node.output[0], ctx.emit(node, Linear(np.ascontiguousarray(w.T, np.float32), None), [x]))


@handler("BatchNormalization", ir="BatchNorm", notes="inference statistics (scale, B, mean, var, epsilon)")
def batchnorm(ctx, node):
    at = attrs(node)
    x = ctx.ir(node, node.input[0])
    g, beta, mean, var = (ctx.need_const(node, t, what).astype(np.float32) for t, what in
                          zip(node.input[1:5], ("scale", "bias", "mean", "variance")))
    if at.get("training_mode", 0) or any(ctx.uses[o] for o in node.output[1:] if o):
        raise UnsupportedModelError(f"node {_name(node)!r} (BatchNormalization) is in training mode; "
                                    f"export the model with model.eval()")
    op = BatchNorm(g, beta, mean, var, eps=float(at.get("epsilon", 1e-5)))
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))
