"""The ops of the snnc graph IR, named after the math they compute.

Shapes are per sample, channel first, without the batch axis: ``(C, H, W)`` for
feature maps, ``(F,)`` for vectors. Every op is a frozen dataclass; array
parameters are numpy arrays (float32), everything else is JSON-serialisable.
``infer`` maps input shapes to the output shape and raises ``GraphError`` on a
mismatch; ``macs`` counts multiply-accumulates per sample (what papers call
FLOPs for an ANN).

ANN semantics of each op are exactly ONNX's (see ``snnc.compiler.execute``);
:class:`IFNeuron` is the one spiking op (algorithms.md section 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar, Optional, Sequence

import numpy as np

from snnc.compiler.errors import GraphError

Shape = tuple[int, ...]
Pads = tuple[int, int, int, int]  # (top, left, bottom, right)

OP_TYPES: dict[str, type["Op"]] = {}


def _register(cls):
    OP_TYPES[cls.__name__] = cls
    return cls


@dataclass(frozen=True, eq=False)
class Op:
    """Base op: one output, ``arity`` inputs (None: one or more)."""

    arity: ClassVar[Optional[int]] = 1

    @property
    def type(self) -> str:
        return type(self).__name__

    def infer(self, shapes: Sequence[Shape]) -> Shape:
        return tuple(shapes[0])

    def macs(self, shapes: Sequence[Shape], out: Shape) -> int:
        return 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}

    def attrs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not isinstance(getattr(self, f.name), np.ndarray)}

    def param_count(self) -> int:
        return int(sum(a.size for a in self.arrays().values()))

    def describe(self) -> str:
        """Short attribute summary for dumps and tables."""
        parts = []
        for k, v in self.attrs().items():
            parts.append(f"{k}={v}")
        for k, a in self.arrays().items():
            parts.append(f"{k}{list(a.shape)}")
        return ", ".join(parts)


def _need_rank(op: Op, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        raise GraphError(f"{op.type} expects a rank-{rank} input per sample, got shape {shape}")


def conv_out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    """Output length of a sliding window (ONNX/torch rule, incl. ceil_mode)."""
    span = size + p0 + p1 - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p0:  # last window must start inside input/left pad
        out -= 1
    return out


@_register
@dataclass(frozen=True, eq=False)
class Input(Op):
    """Graph input of a fixed per-sample shape."""

    shape: Shape = ()
    arity: ClassVar[Optional[int]] = 0

    def infer(self, shapes):
        return tuple(self.shape)


@_register
@dataclass(frozen=True, eq=False)
class Conv2d(Op):
    """y[o] = b[o] + sum_{i,kh,kw} W[o, i, kh, kw] * x_pad[g(o)*I/g + i, s*h + d*kh, s*w + d*kw]."""

    weight: np.ndarray = None  # (O, I/groups, kH, kW)
    bias: Optional[np.ndarray] = None  # (O,)
    stride: tuple[int, int] = (1, 1)
    padding: Pads = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def infer(self, shapes):
        (c, h, w) = _shape3(self, shapes[0])
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


@_register
@dataclass(frozen=True, eq=False)
class Linear(Op):
    """y = W x + b with W of shape (out, in)."""

    weight: np.ndarray = None
    bias: Optional[np.ndarray] = None

    def infer(self, shapes):
        _need_rank(self, shapes[0], 1)
        out_f, in_f = self.weight.shape
        if shapes[0][0] != in_f:
            raise GraphError(f"Linear weight {self.weight.shape} expects {in_f} input features, got {shapes[0][0]}")
        if self.bias is not None and self.bias.shape != (out_f,):
            raise GraphError(f"Linear bias shape {self.bias.shape} does not match {out_f} outputs")
        return (out_f,)

    def macs(self, shapes, out):
        return int(self.weight.size)


@_register
@dataclass(frozen=True, eq=False)
class BatchNorm(Op):
    """y[c] = gamma[c] * (x[c] - mean[c]) / sqrt(var[c] + eps) + beta[c] (eval statistics, channel axis 0)."""

    gamma: np.ndarray = None
    beta: np.ndarray = None
    mean: np.ndarray = None
    var: np.ndarray = None
    eps: float = 1e-5

    def infer(self, shapes):
        _check_channels(self, shapes[0], self.gamma)
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out))


@_register
@dataclass(frozen=True, eq=False)
class ChannelAffine(Op):
    """y[c] = scale[c] * x[c] + shift[c]; scale/shift of shape (C,) or (1,) (broadcast)."""

    scale: np.ndarray = None
    shift: np.ndarray = None

    def infer(self, shapes):
        for a in (self.scale, self.shift):
            if a.shape != (1,):
                _check_channels(self, shapes[0], a)
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out))


@_register
@dataclass(frozen=True, eq=False)
class ReLU(Op):
    """y = max(x, 0)."""


@_register
@dataclass(frozen=True, eq=False)
class Clip(Op):
    """y = min(max(x, lo), hi); ReLU6 is Clip(0, 6). ``lo``/``hi`` may be +-inf."""

    lo: float = 0.0
    hi: float = math.inf


@_register
@dataclass(frozen=True, eq=False)
class Identity(Op):
    """y = x (Identity, Dropout at inference); removed by a pass."""


@_register
@dataclass(frozen=True, eq=False)
class MaxPool2d(Op):
    """y[c, h, w] = max over the window of x_pad (padding with -inf).

    ``mode`` matters only in a spiking graph (algorithms.md section 4):
    ``pre-neuron`` pools each step's current, ``cumulative`` pools running sums.
    """

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


@_register
@dataclass(frozen=True, eq=False)
class AvgPool2d(Op):
    """y = mean over the window; padded zeros count iff ``count_include_pad``."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: Pads = (0, 0, 0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = False

    def infer(self, shapes):
        return _pool_shape(self, shapes[0], (1, 1))

    def macs(self, shapes, out):
        return int(np.prod(out)) * self.kernel[0] * self.kernel[1]


@_register
@dataclass(frozen=True, eq=False)
class GlobalAvgPool2d(Op):
    """y[c, 0, 0] = mean over h, w of x[c, h, w]."""

    def infer(self, shapes):
        c, h, w = _shape3(self, shapes[0])
        return (c, 1, 1)

    def macs(self, shapes, out):
        return int(np.prod(shapes[0]))


@_register
@dataclass(frozen=True, eq=False)
class Flatten(Op):
    """(C, H, W) -> (C*H*W,) in C-order (channel c owns features c*H*W .. (c+1)*H*W - 1)."""

    def infer(self, shapes):
        return (int(np.prod(shapes[0])),)


@_register
@dataclass(frozen=True, eq=False)
class Reshape(Op):
    """Row-major reshape to ``shape`` (per sample)."""

    shape: Shape = ()

    def infer(self, shapes):
        if int(np.prod(shapes[0])) != int(np.prod(self.shape)):
            raise GraphError(f"Reshape of {shapes[0]} to {self.shape} changes the element count")
        return tuple(self.shape)


@_register
@dataclass(frozen=True, eq=False)
class ChannelPermute(Op):
    """y[c] = x[perm[c]] (channel shuffle and other channel reorderings)."""

    perm: np.ndarray = None  # int64 (C,)

    def infer(self, shapes):
        c = shapes[0][0]
        if sorted(self.perm.tolist()) != list(range(c)):
            raise GraphError(f"ChannelPermute perm is not a permutation of {c} channels")
        return tuple(shapes[0])


@_register
@dataclass(frozen=True, eq=False)
class Add(Op):
    """y = sum of the inputs (same shape; residual add)."""

    arity: ClassVar[Optional[int]] = None

    def infer(self, shapes):
        for s in shapes[1:]:
            if tuple(s) != tuple(shapes[0]):
                raise GraphError(f"Add inputs differ in shape: {tuple(shapes[0])} vs {tuple(s)}")
        return tuple(shapes[0])

    def macs(self, shapes, out):
        return int(np.prod(out)) * (len(shapes) - 1)


@_register
@dataclass(frozen=True, eq=False)
class Concat(Op):
    """Concatenation along the channel axis (axis 0 per sample)."""

    arity: ClassVar[Optional[int]] = None

    def infer(self, shapes):
        rest = {tuple(s[1:]) for s in shapes}
        if len(rest) != 1:
            raise GraphError(f"Concat inputs differ beyond the channel axis: {[tuple(s) for s in shapes]}")
        return (sum(s[0] for s in shapes),) + tuple(shapes[0][1:])


@_register
@dataclass(frozen=True, eq=False)
class Pad(Op):
    """Constant padding of the spatial axes by (top, left, bottom, right)."""

    pads: Pads = (0, 0, 0, 0)
    value: float = 0.0

    def infer(self, shapes):
        c, h, w = _shape3(self, shapes[0])
        pt, pl, pb, pr = self.pads
        return (c, h + pt + pb, w + pl + pr)


@_register
@dataclass(frozen=True, eq=False)
class Resize(Op):
    """Spatial resize by integer-free ``scale`` (sh, sw) to ``size`` (oh, ow).

    ``mode`` is ``nearest`` or ``linear`` (bilinear); ``coord`` is the ONNX
    coordinate_transformation_mode (half_pixel, asymmetric, align_corners,
    pytorch_half_pixel); ``nearest_mode`` as in ONNX.
    """

    size: tuple[int, int] = (1, 1)
    mode: str = "nearest"
    coord: str = "asymmetric"
    nearest_mode: str = "floor"

    def infer(self, shapes):
        c, _, _ = _shape3(self, shapes[0])
        return (c,) + tuple(self.size)

    def macs(self, shapes, out):
        return int(np.prod(out)) * (4 if self.mode == "linear" else 0)


@_register
@dataclass(frozen=True, eq=False)
class IFNeuron(Op):
    """Integrate-and-fire neurons, one threshold per channel (algorithms.md section 1).

    For t = 1..T with input current I(t) (the producer's output at step t)::

        v(t) = v(t-1) + I(t)
        s(t) = 1 if v(t) >= theta else 0          (comparison: >=, all backends)
        v(t) = v(t) - s(t) * theta                (reset="subtract")
        v(t) = v(t) * (1 - s(t))                  (reset="zero")
        x(t) = s(t) * theta                       (postsynaptic potential)
        v(0) = v_init                             (0.5 * theta by default)

    In an ANN (the clip-ANN) the same node computes clip(z, 0, theta), the
    function the spike rate approximates. ``threshold``/``v_init`` have shape
    (C,) (one per channel of a conv map or per feature of a vector). After
    threshold folding ``threshold`` is 1 and spikes are binary.
    """

    threshold: np.ndarray = None
    v_init: np.ndarray = None
    reset: str = "subtract"

    def infer(self, shapes):
        _check_channels(self, shapes[0], self.threshold)
        _check_channels(self, shapes[0], self.v_init)
        if self.reset not in ("subtract", "zero"):
            raise GraphError(f"IFNeuron reset must be 'subtract' or 'zero', got {self.reset!r}")
        return tuple(shapes[0])


def _shape3(op: Op, shape: Shape) -> Shape:
    _need_rank(op, shape, 3)
    return tuple(shape)


def _check_channels(op: Op, shape: Shape, arr: np.ndarray) -> None:
    if arr is None or arr.ndim != 1 or arr.shape[0] != shape[0]:
        got = None if arr is None else arr.shape
        raise GraphError(f"{op.type} per-channel parameter of shape {got} does not match "
                         f"{shape[0]} channels of input {tuple(shape)}")


def _pool_shape(op, shape: Shape, dilation) -> Shape:
    c, h, w = _shape3(op, shape)
    pt, pl, pb, pr = op.padding
    oh = conv_out(h, op.kernel[0], op.stride[0], pt, pb, dilation[0], op.ceil_mode)
    ow = conv_out(w, op.kernel[1], op.stride[1], pl, pr, dilation[1], op.ceil_mode)
    if oh <= 0 or ow <= 0:
        raise GraphError(f"{op.type} kernel {op.kernel} does not fit input {(h, w)}")
    return (c, oh, ow)


@_register
@dataclass(frozen=True, eq=False)
class ChannelSlice(Op):
    """y[c] = x[start + c] for c = 0 .. stop - start - 1 (one chunk of a channel split).

    Keeps the channel range [start, stop) of a (C, H, W) map or (F,) vector;
    ONNX ``Slice``/``Split`` on axis 1 with step 1. Needs 0 <= start < stop <= C.
    """

    start: int = 0
    stop: int = 1

    def infer(self, shapes):
        c = shapes[0][0] if shapes[0] else 0
        if not 0 <= self.start < self.stop <= c:
            raise GraphError(f"ChannelSlice [{self.start}, {self.stop}) is not a non-empty channel range "
                             f"of input {tuple(shapes[0])}")
        return (self.stop - self.start,) + tuple(shapes[0][1:])
