"""Weightless tensor ops: reshapes, channel permutation and slicing, sums, concatenation, padding."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, register, shape3


@register
@dataclass(frozen=True, eq=False)
class Flatten(Op):
    """(C, H, W) -> (C*H*W,) in C-order (channel c owns features c*H*W .. (c+1)*H*W - 1)."""

    current_path: ClassVar[bool] = True
    virtual: ClassVar[bool] = True
    spiking: ClassVar[bool] = True

    def infer(self, shapes):
        return (int(np.prod(shapes[0])),)


@register
@dataclass(frozen=True, eq=False)
class Reshape(Op):
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


@register
@dataclass(frozen=True, eq=False)
class Add(Op):
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
