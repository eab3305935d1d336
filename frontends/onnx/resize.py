"""Resize (opset >= 10) and Upsample (opset 7-9) -> IR Resize.

Output size: ``sizes`` when given, else floor(in * scale); the IR kernel maps
coordinates with out / in, so a scale must give an integral output size.
Upsample and Resize-10 use asymmetric coordinates (x_in = x_out / scale) and
floor for nearest (ceil when downsampling, as onnxruntime).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import Resize
from snnc.frontends.onnx.registry import attrs, handler

COORDS = ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel")
MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear"}


def _name(node):
    return node.name or node.output[0]


def _unsupported(node, what):
    return UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) {what}; snnc resizes H and W with "
                                 f"mode nearest or linear and coordinate mode {'/'.join(COORDS)}")


def _expand(vals, axes, rank, fill):
    full = [fill] * rank
    for a, v in zip(axes or range(rank), vals):
        full[a % rank] = v
    return full


def out_size(node, shape, scales, sizes, axes) -> tuple[int, int]:
    """(oh, ow) of a 4-D resize from sizes or scales (N and C must stay)."""
    rank = len(shape)
    if sizes is not None and sizes.size:
        full = _expand([int(s) for s in sizes.ravel()], axes, rank, None)
        full = [d if s is None else s for d, s in zip(shape, full)]
        scaled = [False] * rank
    else:
        sc = _expand([float(s) for s in scales.ravel()], axes, rank, 1.0)
        full = [int(np.floor(d * s)) for d, s in zip(shape, sc)]
        scaled = [abs(d * s - int(np.floor(d * s))) > 1e-6 for d, s in zip(shape, sc)]
    if rank != 4 or full[1] != shape[1] or any(scaled):
        raise _unsupported(node, f"resizes shape {shape} to {full}")
    return full[2], full[3]


@handler("Resize", ir="Resize", notes="nearest / linear; coordinate modes " + ", ".join(COORDS) + "; scales or sizes")
def resize(ctx, node):
    at = attrs(node)
    x = ctx.ir(node, node.input[0])
    shape = (1,) + ctx.shapes[x]
    mode = MODES.get(at.get("mode", "nearest"))
    legacy = ctx.opset < 11
    coord = "asymmetric" if legacy else at.get("coordinate_transformation_mode", "half_pixel")
    if mode is None or coord not in COORDS or at.get("antialias", 0) or \
            at.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise _unsupported(node, f"uses mode {at.get('mode')!r}, coordinates {coord!r}")
    ins = list(node.input) + [""] * 4
    scales_t, sizes_t = (ins[1], "") if legacy else (ins[2], ins[3])
    scales = ctx.const(scales_t) if scales_t else None
    sizes = ctx.const(sizes_t) if sizes_t else None
    if (scales_t and scales is None) or (sizes_t and sizes is None):
        raise _unsupported(node, "computes its scales or sizes at run time")
    size = out_size(node, shape, scales, sizes, at.get("axes"))
    nearest = _legacy_nearest(shape, size) if legacy else at.get("nearest_mode", "round_prefer_floor")
    op = Resize(size, mode, coord, nearest)
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))


def _legacy_nearest(shape, size) -> str:
    return "ceil" if size[0] < shape[2] or size[1] < shape[3] else "floor"


@handler("Upsample", ir="Resize", notes="opset 7-9: nearest / linear, asymmetric coordinates")
def upsample(ctx, node):
    at = attrs(node)
    x = ctx.ir(node, node.input[0])
    shape = (1,) + ctx.shapes[x]
    mode = MODES.get(at.get("mode", "nearest"))
    if mode is None:
        raise _unsupported(node, f"uses mode {at.get('mode')!r}")
    scales = np.asarray(at["scales"], np.float32) if "scales" in at else \
        ctx.need_const(node, node.input[1], "scales")
    size = out_size(node, shape, scales, None, None)
    op = Resize(size, mode, "asymmetric", _legacy_nearest(shape, size))
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))
