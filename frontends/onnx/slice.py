"""Channel slicing: ONNX Slice and Split along the channel axis (1) -> ``ChannelSlice``.

ShuffleNetV2's ``x1, x2 = x.chunk(2, dim=1)`` exports as one ``Split`` or two
``Slice`` nodes. Every output is one channel range [start, stop) of the input
(per sample: y[c] = x[start + c]). Slices must be constant with step 1; axes
other than the channel axis may appear only when they keep the whole axis.
ONNX index rules: negative starts/ends count from the end, then clamp to
[0, dim]; ``Split`` sizes come from the ``split`` attribute (opset < 13) or
input (13+), else an equal split over the outputs (opset 18+: ``num_outputs``
chunks of ceil(C / n), the last one smaller).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import ChannelSlice
from snnc.frontends.onnx.registry import attrs, handler


def _name(node) -> str:
    return node.name or node.output[0]


def _unsupported(node, what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) {what}; snnc slices only the channel "
                                 f"axis (1) with constant bounds and step 1")


def _input(ctx, node, k: int, key: str):
    if len(node.input) > k and node.input[k]:
        return [int(v) for v in ctx.need_const(node, node.input[k], key).ravel()]
    return None


def _clamp(i: int, dim: int) -> int:
    return min(max(i + dim if i < 0 else i, 0), dim)


def _slice_params(ctx, node):
    if ctx.opset < 10:
        at = attrs(node)
        return list(at["starts"]), list(at["ends"]), at.get("axes"), None
    return (_input(ctx, node, 1, "starts"), _input(ctx, node, 2, "ends"), _input(ctx, node, 3, "axes"),
            _input(ctx, node, 4, "steps"))


def _emit_range(ctx, node, x: str, out: str, start: int, stop: int) -> None:
    c = ctx.shapes[x][0]
    if stop <= start:
        raise _unsupported(node, f"gives output {out!r} the empty channel range [{start}, {stop})")
    if (start, stop) == (0, c):
        ctx.bind(out, x)
        return
    ctx.bind(out, ctx.emit(node, ChannelSlice(start, stop), [x], out=out))


@handler("Slice", ir="ChannelSlice", notes="channel axis (1), constant bounds, step 1; other axes kept whole")
def slice_(ctx, node):
    x = ctx.ir(node, node.input[0])
    shape = (1,) + tuple(ctx.shapes[x])
    starts, ends, axes, steps = _slice_params(ctx, node)
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = steps or [1] * len(starts)
    lo, hi = 0, shape[1]
    for a, s, e, st in zip(axes, starts, ends, steps):
        a %= len(shape)
        s, e = _clamp(int(s), shape[a]), _clamp(int(e), shape[a])
        if st != 1:
            raise _unsupported(node, f"slices axis {a} with step {st}")
        if a == 1:
            lo, hi = s, e
        elif (s, e) != (0, shape[a]):
            raise _unsupported(node, f"slices axis {a} to [{s}, {e}) of {shape[a]}")
    _emit_range(ctx, node, x, node.output[0], lo, hi)


def _split_sizes(ctx, node, c: int) -> list[int]:
    at = attrs(node)
    sizes = _input(ctx, node, 1, "split") if ctx.opset >= 13 else at.get("split")
    if sizes:
        sizes = [int(s) for s in sizes]
        if sum(sizes) != c or min(sizes) <= 0:
            raise _unsupported(node, f"splits {c} channels into sizes {sizes}")
        return sizes
    n = int(at.get("num_outputs", len(node.output)))
    if "num_outputs" in at:
        k = -(-c // n)
        return [min(k, c - i * k) for i in range(n)]
    if c % n:
        raise _unsupported(node, f"splits {c} channels equally into {n} outputs")
    return [c // n] * n


@handler("Split", ir="ChannelSlice (one per output)",
         notes="channel axis (1); sizes from attribute/input, equal split or num_outputs")
def split(ctx, node):
    x = ctx.ir(node, node.input[0])
    rank = len(ctx.shapes[x]) + 1
    axis = int(attrs(node).get("axis", 0))
    if axis % rank != 1:
        raise _unsupported(node, f"splits along axis {axis}")
    sizes = _split_sizes(ctx, node, ctx.shapes[x][0])
    if len(sizes) != len(node.output):
        raise _unsupported(node, f"has {len(node.output)} outputs for {len(sizes)} split sizes {sizes}")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for out, lo, hi in zip(node.output, bounds[:-1], bounds[1:]):
        if out and (ctx.uses[out] or out in ctx.graph_outputs):
            _emit_range(ctx, node, x, out, int(lo), int(hi))
