"""Spatial window ops: max / average / global average pooling and resize."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, Shape, conv_out, register, shape3


@register
@dataclass(frozen=True, eq=False)
class MaxPool2d(Op):
    """y[c, h, w] = max over the window of x_pad (padding with -inf).

    ``mode`` matters only in a spiking graph (algorithms.md section 4):
    ``pre-neuron`` pools each step's current, ``cumulative`` pools running sums.
    """

    current_path: ClassVar[bool] = True
    spiking: ClassVar[bool] = True

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: Pads = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False
    mode: str = "pre-neuron"

    def infer(self, shapes):
        return _pool_shape(self, shapes[0], self.dilation)

    def macs(self, shapes, out):
        return 0


@register
@dataclass(frozen=True, eq=False)
class AvgPool2d(Op):
    """y = mean over the window; padded zeros count iff ``count_include_pad``."""

    current_path: ClassVar[bool] = True
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: Pads = (0, 0, 0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = False

    def infer(self, shapes):
        return _pool_shape(self, shapes[0], (1, 1))

    def macs(self, shapes, out):
        return int(np.prod(out)) * self.kernel[0] * self.kernel[1]


@register
@dataclass(frozen=True, eq=False)
class GlobalAvgPool2d(Op):
    """y[c, 0, 0] = mean over h, w of x[c, h, w]."""

    current_path: ClassVar[bool] = True
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True

    def infer(self, shapes):
        c, h, w = shape3(self, shapes[0])
        return (c, 1, 1)

    def macs(self, shapes, out):
        return int(np.prod(shapes[0]))


@register
@dataclass(frozen=True, eq=False)
class Resize(Op):
    """Spatial resize by integer-free ``scale`` (sh, sw) to ``size`` (oh, ow).

    ``mode`` is ``nearest`` or ``linear`` (bilinear); ``coord`` is the ONNX
    coordinate_transformation_mode (half_pixel, asymmetric, align_corners,
    pytorch_half_pixel); ``nearest_mode`` as in ONNX.
    """

    spiking: ClassVar[bool] = True

    size: tuple[int, int] = (1, 1)
    mode: str = "nearest"
    coord: str = "asymmetric"
    nearest_mode: str = "floor"

    def infer(self, shapes):
        c, _, _ = shape3(self, shapes[0])
        return (c,) + tuple(self.size)

    def macs(self, shapes, out):
        return int(np.prod(out)) * (4 if self.mode == "linear" else 0)


def _pool_shape(op, shape: Shape, dilation) -> Shape:
    c, h, w = shape3(op, shape)
    pt, pl, pb, pr = op.padding
    oh = conv_out(h, op.kernel[0], op.stride[0], pt, pb, dilation[0], op.ceil_mode)
    ow = conv_out(w, op.kernel[1], op.stride[1], pl, pr, dilation[1], op.ceil_mode)
    if oh <= 0 or ow <= 0:
        raise GraphError(f"{op.type} kernel {op.kernel} does not fit input {(h, w)}")
    return (c, oh, ow)
