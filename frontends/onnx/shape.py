"""Shape-only ops: Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Identity,
Dropout, Shape, Concat, Pad, Resize/Upsample.

Reshape / Transpose / Flatten / (Un)squeeze of a run-time tensor bind a lazy
:class:`~snnc.frontends.onnx.context.View`; the IR sees only what a consumer
needs (nothing, Flatten, Reshape or ChannelPermute). The batch axis (0) must
stay in place: a reshape target's first entry is the batch axis whatever its
value (a folded ``Shape`` gives it as 1).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import GraphError, UnsupportedModelError
from snnc.compiler.ir import Concat, Pad
from snnc.frontends.onnx.context import View
from snnc.frontends.onnx.registry import attrs, handler


def _name(node):
    return node.name or node.output[0]


def _axes(ctx, node, at, key="axes", index=1):
    if len(node.input) > index and node.input[index]:
        return [int(a) for a in ctx.need_const(node, node.input[index], key).ravel()]
    return list(at[key]) if key in at else None


def _bind_view(ctx, node, v: View, shape) -> None:
    ctx.bind(node.output[0], View(v.src, v.idx.reshape(shape)))


def _batch_error(node, what):
    return UnsupportedModelError(f"node {_name(node)!r} ({node.op_type}) {what}; snnc keeps the batch axis "
                                 f"(axis 0) separate from the per-sample axes")


def check_reshape_target(node, shape: np.ndarray, allowzero: int) -> list[int]:
    """The ONNX rules for a Reshape target (GraphError naming the broken one); the target as ints.

    int64; entries >= -1; at most one -1; with allowzero=1 no 0 (an empty
    tensor; ONNX also forbids 0 next to -1 there).
    """
    if shape.dtype != np.int64:
        raise GraphError(f"node {_name(node)!r} (Reshape): the shape input {node.input[1]!r} is {shape.dtype}; "
                         f"valid: an int64 tensor (ONNX Reshape spec)")
    target = [int(d) for d in shape.ravel()]
    bad = [d for d in target if d < -1]
    if bad or target.count(-1) > 1:
        what = f"entry {bad[0]}" if bad else "more than one -1"
        raise GraphError(f"node {_name(node)!r} (Reshape): target shape {target} has {what}; valid: entries "
                         f">= -1 with at most one -1 (the inferred dimension)")
    if allowzero and 0 in target:
        raise GraphError(f"node {_name(node)!r} (Reshape): target shape {target} with allowzero=1 makes an "
                         f"empty (0-sized) dimension; valid: positive sizes, or allowzero=0 where 0 copies the "
                         f"input's dimension")
    return target


@handler("Reshape", ir="Flatten / Reshape / ChannelPermute", notes="the batch axis must stay first")
def reshape(ctx, node):
    v = ctx.view(node.input[0])
    allowzero = int(attrs(node).get("allowzero", 0))
    target = check_reshape_target(node, ctx.need_const(node, node.input[1], "the target shape"), allowzero)
    src = (1,) + v.idx.shape
    if len(target) < 2:
        raise _batch_error(node, f"reshapes to {target}, folding the batch axis into the features")
    if not allowzero:
        target = [src[i] if d == 0 and i < len(src) else d for i, d in enumerate(target)]
    per = target[1:]
    known = int(np.prod([d for d in per if d != -1]))
    if per.count(-1) == 1 and known:
        per[per.index(-1)] = v.idx.size // known
    if not target or -1 in per or int(np.prod(per)) != v.idx.size:
        raise _batch_error(node, f"reshapes per-sample shape {v.idx.shape} to {target}")
    _bind_view(ctx, node, v, per)


@handler("Flatten", ir="Flatten", notes="axis 1")
def flatten(ctx, node):
    if attrs(node).get("axis", 1) != 1:
        raise _batch_error(node, f"flattens from axis {attrs(node).get('axis')}")
    v = ctx.view(node.input[0])
    _bind_view(ctx, node, v, (v.idx.size,))


@handler("Transpose", ir="ChannelPermute (with Reshape)",
         notes="per-sample transposes that end as a channel permutation (channel shuffle)")
def transpose(ctx, node):
    v = ctx.view(node.input[0])
    perm = attrs(node).get("perm", list(range(v.idx.ndim, -1, -1)))
    if perm[0] != 0:
        raise _batch_error(node, f"transposes with perm {perm}")
    ctx.bind(node.output[0], View(v.src, v.idx.transpose([p - 1 for p in perm[1:]])))


@handler("Squeeze", ir="Flatten / Reshape", notes="per-sample axes only")
def squeeze(ctx, node):
    v = ctx.view(node.input[0])
    axes = _axes(ctx, node, attrs(node))
    rank = v.idx.ndim + 1
    axes = [a % rank for a in axes] if axes is not None else [i for i, d in enumerate((1,) + v.idx.shape) if d == 1 and i]
    if 0 in axes:
        raise _batch_error(node, "squeezes the batch axis")
    _bind_view(ctx, node, v, [d for i, d in enumerate(v.idx.shape, 1) if i not in axes])


@handler("Unsqueeze", ir="Reshape", notes="per-sample axes only")
def unsqueeze(ctx, node):
    v = ctx.view(node.input[0])
    axes = _axes(ctx, node, attrs(node))
    rank = v.idx.ndim + 1 + len(axes)
    idx = v.idx[None]
    for a in sorted(a % rank for a in axes):
        if a == 0:
            raise _batch_error(node, "inserts an axis before the batch axis")
        idx = np.expand_dims(idx, a)
    ctx.bind(node.output[0], View(v.src, idx[0]))


@handler("Identity", "Dropout", ir="(removed)", notes="inference: y = x")
def identity(ctx, node):
    if any(ctx.uses[o] for o in node.output[1:] if o):
        raise UnsupportedModelError(f"node {_name(node)!r} (Dropout) returns its mask, which snnc cannot compute")
    ctx.bind(node.output[0], ctx.values[node.input[0]])


@handler("Shape", ir="(constant)", notes="folded: spatial dimensions are static, the batch axis folds as 1")
def shape(ctx, node):
    at = attrs(node)
    dims = np.asarray(ctx.onnx_shape(node.input[0]), dtype=np.int64)
    ctx.bind(node.output[0], dims[at.get("start", 0):at.get("end", len(dims))])


@handler("Concat", ir="Concat", notes="channel axis (1)")
def concat(ctx, node):
    xs = [ctx.ir(node, t) for t in node.input]
    rank = len(ctx.shapes[xs[0]]) + 1
    if attrs(node)["axis"] % rank != 1:
        raise UnsupportedModelError(f"node {_name(node)!r} (Concat) joins along axis {attrs(node)['axis']}; "
                                    f"snnc concatenates along the channel axis (1) only")
    ctx.bind(node.output[0], ctx.emit(node, Concat(), xs))


@handler("Pad", ir="Pad", notes="mode constant, spatial axes, non-negative pads")
def pad(ctx, node):
    at = attrs(node)
    x = ctx.ir(node, node.input[0])
    rank = len(ctx.shapes[x]) + 1
    pads = _axes(ctx, node, at, "pads") or [0] * 2 * rank
    value = float(ctx.const(node.input[2]).reshape(())) if len(node.input) > 2 and node.input[2] else \
        float(at.get("value", 0.0))
    axes = _axes(ctx, node, at, "axes", 3) or list(range(rank))
    full = [0] * 2 * rank
    for i, a in enumerate(axes):
        full[a % rank], full[a % rank + rank] = pads[i], pads[i + len(axes)]
    if at.get("mode", "constant") != "constant" or rank != 4 or any(full[i] for i in (0, 1, 4, 5)) \
            or min(full) < 0:
        raise UnsupportedModelError(f"node {_name(node)!r} (Pad) pads {full} in mode {at.get('mode', 'constant')}; "
                                    f"snnc supports constant, non-negative padding of H and W")
    op = Pad((full[2], full[3], full[6], full[7]), value)
    ctx.bind(node.output[0], ctx.emit(node, op, [x]))
