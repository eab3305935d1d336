"""Synaptic and affine ops: convolution, dense layers, batch norm and per-channel gains.

Shapes are per sample, channel first, without the batch axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pads, check_channels, conv_out, need_rank, register, shape3
from snnc.compiler.ir.ops.geometry import (
    channel_ones, conv_in_channel_map, per_channel, window_box, window_connections, window_transpose,
)


def _bias(op, s_out):
    return None if op.bias is None else op.bias.astype(np.float64) * s_out


@register
@dataclass(frozen=True, eq=False)
class Conv2d(Op):
    """y[o] = b[o] + sum_{i,kh,kw} W[o, i, kh, kw] * x_pad[g(o)*I/g + i, s*h + d*kh, s*w + d*kw]."""

    weight_field: ClassVar[Optional[str]] = "weight"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True
    netx: ClassVar[Optional[str]] = "conv"

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

    def rescaled(self, s_in, s_out):
        k = conv_in_channel_map(self.weight, self.groups)
        w = self.weight.astype(np.float64) * s_in[k][:, :, None, None] * s_out[:, None, None, None]
        return {"weight": w, "bias": _bias(self, s_out)}

    def fanout(self, in_shape, out):
        """F[c, y, x] = (output channel, position) pairs whose window covers (y, x) with a nonzero weight
        from c (taps on padding are never driven)."""
        o, ig, kh, kw = self.weight.shape
        g = self.groups
        nz = (self.weight != 0).reshape(g, o // g, ig, kh, kw).sum(axis=1).reshape(g * ig, kh, kw)
        taps = np.broadcast_to(nz[:, :, :, None, None].astype(np.float64), nz.shape + tuple(out[1:]))
        return window_transpose(taps, in_shape, (kh, kw), self.stride, self.padding, self.dilation)

    def connections(self, in_shape, out):
        """total = O * (I/g) * sum_h taps_h * sum_w taps_w (taps inside the input); fan-in = (I/g) * max
        taps_h * max taps_w; fan-out = (O/g) * max cover_h * max cover_w."""
        o, i, kh, kw = self.weight.shape
        return window_connections(o // self.groups, i, o, in_shape, out, (kh, kw), self.stride, self.padding,
                                  self.dilation)

    def box_back(self, box, shapes, out):
        c = shapes[0][0]
        o, ipg, kh, kw = self.weight.shape
        opg = o // self.groups
        ch = (0, c) if self.groups == 1 else ((box[0][0] // opg) * ipg, ((box[0][1] - 1) // opg + 1) * ipg)
        return [window_box(box, shapes[0], (kh, kw), self.stride, self.padding, self.dilation, ch)]


@register
@dataclass(frozen=True, eq=False)
class Linear(Op):
    """y = W x + b with W of shape (out, in)."""

    weight_field: ClassVar[Optional[str]] = "weight"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    netx: ClassVar[Optional[str]] = "dense"

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

    def rescaled(self, s_in, s_out):
        return {"weight": self.weight.astype(np.float64) * s_in[None, :] * s_out[:, None],
                "bias": _bias(self, s_out)}

    def fanout(self, in_shape, out):
        return (self.weight != 0).sum(axis=0).astype(np.float64)

    def connections(self, in_shape, out):
        """out * in: zero weights are stored too in dense storage."""
        return int(self.weight.size), self.weight.shape[1], self.weight.shape[0]


@register
@dataclass(frozen=True, eq=False)
class BatchNorm(Op):
    """y[c] = gamma[c] * (x[c] - mean[c]) / sqrt(var[c] + eps) + beta[c] (eval statistics, channel axis 0)."""

    gain: ClassVar[bool] = True

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

    def fanout(self, in_shape, out):
        return channel_ones(self.gamma, in_shape)

    def box_back(self, box, shapes, out):
        return [box]


@register
@dataclass(frozen=True, eq=False)
class ChannelAffine(Op):
    """y[c] = scale[c] * x[c] + shift[c]; scale/shift of shape (C,) or (1,) (broadcast)."""

    weight_field: ClassVar[Optional[str]] = "scale"
    latency: ClassVar[int] = 1
    spiking: ClassVar[bool] = True
    shared_weights: ClassVar[bool] = True
    gain: ClassVar[bool] = True

    scale: np.ndarray = None
    shift: np.ndarray = None

    def infer(self, shapes):
        for a in (self.scale, self.shift):
            if a.shape != (1,):
                check_channels(self, shapes[0], a)
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out))

    def rescaled(self, s_in, s_out):
        c = len(s_in)
        return {"scale": per_channel(self.scale, c) * s_in * s_out, "shift": per_channel(self.shift, c) * s_out}

    def fanout(self, in_shape, out):
        """A diagonal synapse: 1 where the channel's scale is nonzero (a gain: its graded output drives the
        synapses after it too)."""
        return channel_ones(self.scale, in_shape)

    def connections(self, in_shape, out):
        return int(np.prod(out)), 1, 1

    def box_back(self, box, shapes, out):
        return [box]
