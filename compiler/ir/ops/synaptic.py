"""Synaptic and affine ops: convolution, dense layers, batch norm and per-channel gains.

Shapes are per sample, channel first, without the batch axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, check_channels, conv_out, need_rank, register, shape3


@register
@dataclass(frozen=True, eq=False)
class Conv2d(Op):
    """y[o] = b[o] + sum_{i,kh,kw} W[o, i, kh, kw] * x_pad[g(o)*I/g + i, s*h + d*kh, s*w + d*kw]."""

    weight_field: ClassVar[Optional[str]] = "weight"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True

    weight: np.ndarray = None  # (O, I/groups, kH, kW)
    bias: Optional[np.ndarray] = None  # (O,)
    stride: tuple[int, int] = (1, 1)
    padding: Pads = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def infer(self, shapes):
        (c, h, w) = shape3(self, shapes[0])
        o, i, kh, kw = self.weight.shape
        if c != i * self.groups or o % self.groups:
            raise GraphError(f"Conv2d weight {self.weight.shape} with groups={self.groups} "
                             f"needs {i * self.groups} input channels, got {c}")
        if self.bias is not None and self.bias.shape != (o,):
            raise GraphError(f"Conv2d bias shape {self.bias.shape} does not match {o} output channels")
        pt, pl, pb, pr = self.padding
        oh = conv_out(h, kh, self.stride[0], pt, pb, self.dilation[0])
        ow = conv_out(w, kw, self.stride[1], pl, pr, self.dilation[1])
        if oh <= 0 or ow <= 0:
            raise GraphError(f"Conv2d kernel {(kh, kw)} does not fit input {(h, w)}")
        return (o, oh, ow)

    def macs(self, shapes, out):
        _, i, kh, kw = self.weight.shape
        return int(np.prod(out)) * i * kh * kw


@register
@dataclass(frozen=True, eq=False)
class Linear(Op):
    """y = W x + b with W of shape (out, in)."""

    weight_field: ClassVar[Optional[str]] = "weight"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True

    weight: np.ndarray = None
    bias: Optional[np.ndarray] = None

    def infer(self, shapes):
        need_rank(self, shapes[0], 1)
        out_f, in_f = self.weight.shape
        if shapes[0][0] != in_f:
            raise GraphError(f"Linear weight {self.weight.shape} expects {in_f} input features, got {shapes[0][0]}")
        if self.bias is not None and self.bias.shape != (out_f,):
            raise GraphError(f"Linear bias shape {self.bias.shape} does not match {out_f} outputs")
        return (out_f,)

    def macs(self, shapes, out):
        return int(self.weight.size)


@register
@dataclass(frozen=True, eq=False)
class BatchNorm(Op):
    """y[c] = gamma[c] * (x[c] - mean[c]) / sqrt(var[c] + eps) + beta[c] (eval statistics, channel axis 0)."""

    gamma: np.ndarray = None
    beta: np.ndarray = None
    mean: np.ndarray = None
    var: np.ndarray = None
    eps: float = 1e-5

    def infer(self, shapes):
        check_channels(self, shapes[0], self.gamma)
        denom = np.asarray(self.var, np.float64) + float(self.eps)
        if not np.all(denom > 0):
            c = int(np.flatnonzero(~(denom > 0))[0])
            raise GraphError(f"batch norm variance + epsilon is {denom.ravel()[c]:g} at channel {c} (variance "
                             f"{np.asarray(self.var).ravel()[c]:g}, epsilon {self.eps:g}); valid: variance + "
                             f"epsilon > 0 (a variance is never negative: the running statistics are corrupt)")
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out))


@register
@dataclass(frozen=True, eq=False)
class ChannelAffine(Op):
    """y[c] = scale[c] * x[c] + shift[c]; scale/shift of shape (C,) or (1,) (broadcast)."""

    weight_field: ClassVar[Optional[str]] = "scale"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True

    scale: np.ndarray = None
    shift: np.ndarray = None

    def infer(self, shapes):
        for a in (self.scale, self.shift):
            if a.shape != (1,):
                check_channels(self, shapes[0], a)
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out))
