"""Weightless tensor ops: reshapes, channel permutation and slicing, sums, concatenation, padding."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, Pointwise, Shape, register, shape3
from snnc.compiler.ir.ops.geometry import respread


class Regroup:
    """Mixin for a row-major reshape: a channel's scale spreads over its elements and is read back per output
    channel (representable only when each output channel sees one value); fan-out reshapes back."""

    def scale_forward(self, a, shapes, out):
        return respread(a[0], shapes[0], out)

    def scale_backward(self, d, shapes, out):
        return [respread(d, out, shapes[0])]

    def fanout_back(self, f, shapes, out, k):
        return f.reshape(shapes[0])


@register
@dataclass(frozen=True, eq=False)
class Flatten(Regroup, Op):
    """(C, H, W) -> (C*H*W,) in C-order (channel c owns features c*H*W .. (c+1)*H*W - 1)."""

    current_path: ClassVar[bool] = True
    virtual: ClassVar[bool] = True
    spiking: ClassVar[bool] = True
    netx: ClassVar[Optional[str]] = "flatten"

    def infer(self, shapes):
        return (int(np.prod(shapes[0])),)

    def box_back(self, box, shapes, out):
        c, h, w = shapes[0]
        return [((box[0][0] // (h * w), (box[0][1] - 1) // (h * w) + 1), (0, h), (0, w))]


@register
@dataclass(frozen=True, eq=False)
class Reshape(Regroup, Op):
    """Row-major reshape to ``shape`` (per sample)."""

    spiking: ClassVar[bool] = True

    shape: Shape = ()

    def infer(self, shapes):
        if int(np.prod(shapes[0])) != int(np.prod(self.shape)):
            raise GraphError(f"Reshape of {shapes[0]} to {self.shape} changes the element count")
        return tuple(self.shape)


@register
@dataclass(frozen=True, eq=False)
class ChannelPermute(Op):
    """y[c] = x[perm[c]] (channel shuffle and other channel reorderings)."""

    spiking: ClassVar[bool] = True

    perm: np.ndarray = None  # int64 (C,)

    def infer(self, shapes):
        c = shapes[0][0]
        if sorted(self.perm.tolist()) != list(range(c)):
            raise GraphError(f"ChannelPermute perm is not a permutation of {c} channels")
        return tuple(shapes[0])

    def scale_forward(self, a, shapes, out):
        return a[0][self.perm]

    def scale_backward(self, d, shapes, out):
        return [self._back(d)]

    def fanout_back(self, f, shapes, out, k):
        return self._back(f)

    def _back(self, y):
        x = np.empty_like(y)
        x[np.asarray(self.perm)] = y
        return x


@register
@dataclass(frozen=True, eq=False)
class ChannelSlice(Op):
    """y[c] = x[start + c] for c = 0 .. stop - start - 1 (one chunk of a channel split).

    Keeps the channel range [start, stop) of a (C, H, W) map or (F,) vector;
    ONNX ``Slice``/``Split`` on axis 1 with step 1. Needs 0 <= start < stop <= C.
    """

    spiking: ClassVar[bool] = True

    start: int = 0
    stop: int = 1

    def infer(self, shapes):
        c = shapes[0][0] if shapes[0] else 0
        if not 0 <= self.start < self.stop <= c:
            raise GraphError(f"ChannelSlice [{self.start}, {self.stop}) is not a non-empty channel range "
                             f"of input {tuple(shapes[0])}")
        return (self.stop - self.start,) + tuple(shapes[0][1:])

    def scale_forward(self, a, shapes, out):
        return a[0][self.start:self.stop]

    def scale_backward(self, d, shapes, out):
        """d on the kept channels, NaN ("not read") on the others (merged per channel by fold_thresholds)."""
        return [self._back(d, shapes[0][:1], np.nan)]

    def fanout_back(self, f, shapes, out, k):
        """Only the kept channels drive anything through the slice."""
        return self._back(f, shapes[0], 0.0)

    def box_back(self, box, shapes, out):
        return [((box[0][0] + self.start, box[0][1] + self.start),) + tuple(box[1:])]

    def _back(self, y, shape, fill):
        x = np.full(tuple(shape), fill, np.float64)
        x[self.start:self.stop] = y
        return x


@register
@dataclass(frozen=True, eq=False)
class Add(Pointwise, Op):
    """y = sum of the inputs (same shape; residual add)."""

    current_path: ClassVar[bool] = True
    spiking: ClassVar[bool] = True

    arity: ClassVar[Optional[int]] = None

    def infer(self, shapes):
        for s in shapes[1:]:
            if tuple(s) != tuple(shapes[0]):
                raise GraphError(f"Add inputs differ in shape: {tuple(shapes[0])} vs {tuple(s)}")
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out)) * (len(shapes) - 1)

    def scale_forward(self, a, shapes, out):
        """All inputs must carry the same scale (fixed with explicit gains)."""
        return a[0] if all(np.array_equal(a[0], x) for x in a[1:]) else None

    def scale_backward(self, d, shapes, out):
        return [d] * len(shapes)


@register
@dataclass(frozen=True, eq=False)
class Concat(Op):
    """Concatenation along the channel axis (axis 0 per sample)."""

    spiking: ClassVar[bool] = True

    arity: ClassVar[Optional[int]] = None

    def infer(self, shapes):
        rest = {tuple(s[1:]) for s in shapes}
        if len(rest) != 1:
            raise GraphError(f"Concat inputs differ beyond the channel axis: {[tuple(s) for s in shapes]}")
        return (sum(s[0] for s in shapes),) + tuple(shapes[0][1:])

    def scale_forward(self, a, shapes, out):
        return np.concatenate(a)

    def scale_backward(self, d, shapes, out):
        return list(np.split(d, np.cumsum([s[0] for s in shapes])[:-1]))

    def fanout_back(self, f, shapes, out, k):
        start = sum(s[0] for s in shapes[:k])
        return f[start:start + shapes[k][0]]

    def box_back(self, box, shapes, out):
        res, start = [], 0
        for s in shapes:
            lo, hi = max(box[0][0] - start, 0), min(box[0][1] - start, s[0])
            res.append(((lo, hi),) + tuple(box[1:]) if lo < hi else None)
            start += s[0]
        return res


@register
@dataclass(frozen=True, eq=False)
class Pad(Op):
    """Constant padding of the spatial axes by (top, left, bottom, right)."""

    spiking: ClassVar[bool] = True

    pads: Pads = (0, 0, 0, 0)
    value: float = 0.0

    def infer(self, shapes):
        c, h, w = shape3(self, shapes[0])
        pt, pl, pb, pr = self.pads
        return (c, h + pt + pb, w + pl + pr)

    def scale_forward(self, a, shapes, out):
        """Zero padding commutes with a scale; another value does not."""
        return a[0] if self.value == 0 else None

    def scale_backward(self, d, shapes, out):
        return [d] if self.value == 0 else [np.ones(shapes[0][0])]

    def fanout_back(self, f, shapes, out, k):
        pt, pl, _, _ = self.pads
        _, h, w = shapes[0]
        return f[:, pt:pt + h, pl:pl + w]

    def box_back(self, box, shapes, out):
        _, h, w = shapes[0]
        pt, pl = self.pads[0], self.pads[1]
        return [(box[0], (max(0, box[1][0] - pt), min(h, box[1][1] - pt)),
                 (max(0, box[2][0] - pl), min(w, box[2][1] - pl)))]
