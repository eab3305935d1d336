"""Spatial window ops: max / average / global average pooling and resize."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, Shape, conv_out, register, shape3
from snnc.compiler.ir.ops.geometry import window_box, window_connections, window_transpose


class SameChannels:
    """Mixin for a spatial op that keeps every channel apart: a per-channel scale passes unchanged."""

    def scale_forward(self, a, shapes, out):
        return a[0]

    def scale_backward(self, d, shapes, out):
        return [d]


class Window(SameChannels):
    """Mixin for a pooling window (``kernel``, ``stride``, ``padding``, optional ``dilation``)."""

    def fanout_back(self, f, shapes, out, k):
        """Every input pixel gets the fan-out of each window containing it (a path count: on non-overlapping
        pools it equals the composite connectivity)."""
        return window_transpose(f, shapes[0], self.kernel, self.stride, self.padding, self._dilation())

    def box_back(self, box, shapes, out):
        return [window_box(box, shapes[0], self.kernel, self.stride, self.padding, self._dilation())]

    def _dilation(self):
        return getattr(self, "dilation", (1, 1))


@register
@dataclass(frozen=True, eq=False)
class MaxPool2d(Window, Op):
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
class AvgPool2d(Window, Op):
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

    def connections(self, in_shape, out):
        """C * sum of the taps inside the input (weight 1/k^2)."""
        return window_connections(1, 1, in_shape[0], in_shape, out, self.kernel, self.stride, self.padding, (1, 1))


@register
@dataclass(frozen=True, eq=False)
class GlobalAvgPool2d(SameChannels, Op):
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

    def fanout_back(self, f, shapes, out, k):
        return np.broadcast_to(f, shapes[0]).copy()

    def connections(self, in_shape, out):
        return int(np.prod(in_shape)), in_shape[1] * in_shape[2], 1

    def box_back(self, box, shapes, out):
        return [(box[0], (0, shapes[0][1]), (0, shapes[0][2]))]


@register
@dataclass(frozen=True, eq=False)
class Resize(SameChannels, Op):
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

    def fanout_back(self, f, shapes, out, k):
        """Each input pixel gets the fan-out of every output its interpolation pattern reaches."""
        from snnc.compiler.execute.kernels import _axis_matrix
        _, h, w = shapes[0]
        mh = (_axis_matrix(self.size[0], h, self) != 0).astype(np.float64)
        mw = (_axis_matrix(self.size[1], w, self) != 0).astype(np.float64)
        return np.einsum("oh,cop,pw->chw", mh, f, mw)


def _pool_shape(op, shape: Shape, dilation) -> Shape:
    c, h, w = shape3(op, shape)
    pt, pl, pb, pr = op.padding
    oh = conv_out(h, op.kernel[0], op.stride[0], pt, pb, dilation[0], op.ceil_mode)
    ow = conv_out(w, op.kernel[1], op.stride[1], pl, pr, dilation[1], op.ceil_mode)
    if oh <= 0 or ow <= 0:
        raise GraphError(f"{op.type} kernel {op.kernel} does not fit input {(h, w)}")
    return (c, oh, ow)
