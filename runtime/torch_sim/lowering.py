"""One lowering table, ``LOWERING = {op class: module class}``: every non-spiking IR op as a torch module.

Each module is built from its frozen IR op (``Module.from_op(op, node, graph)``),
computes the op's ONNX semantics on a batch (N, *shape) exactly as
``snnc.compiler.execute.kernels`` does, and writes its (trained) parameters back
into a fresh frozen op with ``to_op(op)`` (``dataclasses.replace``; ops without
parameters return ``op`` itself). Synapse weights, biases and per-channel
affine parameters are ``nn.Parameter``s, so gradients flow; ops whose numbers
are not trainable (BatchNorm statistics, Resize interpolation matrices, the
average-pool divisors) keep them as buffers.

Windows with asymmetric padding or ``ceil_mode`` are padded explicitly to the
size the IR shape needs (``-inf`` for max pooling, 0 for average pooling) and
cropped to the node's shape, so every window is the ONNX window.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from snnc.compiler.ir import ops
from snnc.compiler.ir.ops.geometry import channel_view


def _param(a, dtype) -> nn.Parameter:
    return nn.Parameter(torch.tensor(np.array(a), dtype=dtype))


def _opt_param(a, dtype):
    return None if a is None else _param(a, dtype)


def _np(t) -> np.ndarray:
    return None if t is None else t.detach().cpu().numpy().astype(np.float32)


class Lowered(nn.Module):
    """Base: ``from_op`` builds the module, ``forward(*inputs)`` evaluates, ``to_op`` writes back."""

    def to_op(self, op):
        return op


def _window_pad(x, padding, need_hw, value):
    """Pad (top, left, bottom, right) plus the ceil-mode overhang that ``need_hw`` (padded extent) asks for."""
    pt, pl, pb, pr = padding
    h, w = x.shape[-2:]
    eb = max(0, need_hw[0] - (h + pt + pb))
    er = max(0, need_hw[1] - (w + pl + pr))
    if not (pt or pl or pb or pr or eb or er):
        return x
    return F.pad(x, (pl, pr + er, pt, pb + eb), value=value)


def _need(out_hw, kernel, stride, dilation):
    return tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(out_hw, kernel, stride, dilation))


class Conv2d(Lowered):
    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.weight = _param(op.weight, dtype)
        self.bias = _opt_param(op.bias, dtype)
        self.stride, self.dilation, self.groups = tuple(op.stride), tuple(op.dilation), op.groups
        pt, pl, pb, pr = op.padding
        self.sym = (pt, pl) if (pt, pl) == (pb, pr) else None
        self.padding = tuple(op.padding)

    def forward(self, x):
        if self.sym is None:
            x = F.pad(x, (self.padding[1], self.padding[3], self.padding[0], self.padding[2]))
        return F.conv2d(x, self.weight, self.bias, self.stride, self.sym or 0, self.dilation, self.groups)

    def to_op(self, op):
        return replace(op, weight=_np(self.weight), bias=_np(self.bias))


class Linear(Lowered):
    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.weight = _param(op.weight, dtype)
        self.bias = _opt_param(op.bias, dtype)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def to_op(self, op):
        return replace(op, weight=_np(self.weight), bias=_np(self.bias))


class BatchNorm(Lowered):
    """y = (x - mean) * gamma / sqrt(var + eps) + beta; gamma, beta trainable, the statistics buffers."""

    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.gamma, self.beta = _param(op.gamma, dtype), _param(op.beta, dtype)
        self.register_buffer("mean", torch.tensor(np.array(op.mean), dtype=dtype))
        self.register_buffer("var", torch.tensor(np.array(op.var), dtype=dtype))
        self.eps = float(op.eps)

    def forward(self, x):
        g = self.gamma / torch.sqrt(self.var + self.eps)
        return (x - channel_view(self.mean, x.ndim)) * channel_view(g, x.ndim) + channel_view(self.beta, x.ndim)

    def to_op(self, op):
        return replace(op, gamma=_np(self.gamma), beta=_np(self.beta))


class ChannelAffine(Lowered):
    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.scale, self.shift = _param(op.scale, dtype), _param(op.shift, dtype)

    def forward(self, x):
        return torch.addcmul(channel_view(self.shift, x.ndim), x, channel_view(self.scale, x.ndim))   # one pass

    def to_op(self, op):
        return replace(op, scale=_np(self.scale), shift=_np(self.shift))


class MaxPool2d(Lowered):
    """Max over the ONNX window (padding -inf); the spiking ``mode`` is the net's business, not the kernel's."""

    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.kernel, self.stride, self.dilation = tuple(op.kernel), tuple(op.stride), tuple(op.dilation)
        self.padding, self.out_hw = tuple(op.padding), tuple(node.shape[1:])
        self.need = _need(self.out_hw, self.kernel, self.stride, self.dilation)

    def forward(self, x):
        xp = _window_pad(x, self.padding, self.need, -torch.inf)
        y = F.max_pool2d(xp, self.kernel, self.stride, 0, self.dilation)
        return y[..., :self.out_hw[0], :self.out_hw[1]]


class AvgPool2d(Lowered):
    """Window sum / count, count = real pixels (+ explicit padding when ``count_include_pad``), as ONNX."""

    def __init__(self, op, node, graph, dtype):
        super().__init__()
        self.kernel, self.stride = tuple(op.kernel), tuple(op.stride)
        self.padding, self.out_hw = tuple(op.padding), tuple(node.shape[1:])
        self.need = _need(self.out_hw, self.kernel, self.stride, (1, 1))
        h, w = graph.node(node.inputs[0]).shape[1:]
        mask = torch.ones((1, 1, h, w), dtype=dtype)
        mask = F.pad(mask, (self.padding[1], self.padding[3], self.padding[0], self.padding[2]),
                     value=1.0 if op.count_include_pad else 0.0)
        self.register_buffer("count", self._sum(_window_pad(mask, (0, 0, 0, 0), self.need, 0.0)))

    def _sum(self, xp):
        y = F.avg_pool2d(xp, self.kernel, self.stride, 0, divisor_override=1)
        return y[..., :self.out_hw[0], :self.out_hw[1]]

    def forward(self, x):
        return self._sum(_window_pad(x, self.padding, self.need, 0.0)) / self.count


class Resize(Lowered):
    """y = M_h x M_w^T with the executor's interpolation matrices (nearest or bilinear, every ONNX coord mode)."""

    def __init__(self, op, node, graph, dtype):
        super().__init__()
        from snnc.compiler.execute.kernels import _axis_matrix
        h, w = graph.node(node.inputs[0]).shape[1:]
        self.register_buffer("mh", torch.as_tensor(_axis_matrix(op.size[0], h, op).astype(np.float32), dtype=dtype))
        self.register_buffer("mw", torch.as_tensor(_axis_matrix(op.size[1], w, op).astype(np.float32), dtype=dtype))

    def forward(self, x):
        return torch.einsum("oh,nchw,pw->ncop", self.mh, x, self.mw)


class Fn(Lowered):
    """A weightless op as one function of (op attributes, inputs)."""

    def __init__(self, fn, op, node):
        super().__init__()
        self.fn, self.op, self.shape = fn, op, tuple(node.shape)

    def forward(self, *xs):
        return self.fn(self, *xs)


def _fn(fn):
    return lambda op, node, graph, dtype: Fn(fn, op, node)


def _add(m, *xs):
    y = xs[0]
    for x in xs[1:]:
        y = y + x
    return y


def _permute(m, x):
    perm = torch.tensor(np.array(m.op.perm), dtype=torch.long, device=x.device)
    return x.index_select(1, perm)


LOWERING = {
    ops.Conv2d: Conv2d,
    ops.Linear: Linear,
    ops.BatchNorm: BatchNorm,
    ops.ChannelAffine: ChannelAffine,
    ops.MaxPool2d: MaxPool2d,
    ops.AvgPool2d: AvgPool2d,
    ops.Resize: Resize,
    ops.ReLU: _fn(lambda m, x: torch.relu(x)),
    ops.Clip: _fn(lambda m, x: torch.clamp(x, m.op.lo, m.op.hi)),
    ops.Identity: _fn(lambda m, x: x),
    ops.GlobalAvgPool2d: _fn(lambda m, x: x.mean(dim=(2, 3), keepdim=True)),
    ops.Flatten: _fn(lambda m, x: x.reshape(x.shape[0], -1)),
    ops.Reshape: _fn(lambda m, x: x.reshape((x.shape[0],) + m.shape)),
    ops.ChannelPermute: _fn(_permute),
    ops.ChannelSlice: _fn(lambda m, x: x[:, m.op.start:m.op.stop]),
    ops.Add: _fn(_add),
    ops.Concat: _fn(lambda m, *xs: torch.cat(xs, dim=1)),
    ops.Pad: _fn(lambda m, x: F.pad(x, (m.op.pads[1], m.op.pads[3], m.op.pads[0], m.op.pads[2]), value=m.op.value)),
}
