"""The whole graph as one torch program: the calibration's forward passes when torch is installed.

``TorchGraph(graph)`` converts every op's parameters to torch tensors once and
keeps one closure per node; ``tg.run(x, hook)`` evaluates the graph on a batch
with values that stay torch tensors from the input to the outputs (no per-node
host copies, no per-node NumPy temporaries). The semantics are the NumPy
kernels' (``kernels``, the oracle): each torch kernel computes the same
float32 terms (convolution and matrix products summed in another order, so the
two agree to float32 rounding of k-term sums, as ``torch_conv`` does); an op
without a torch kernel here, or a geometry the torch call would read
differently from ONNX (padded or ceil-mode pooling), runs its NumPy kernel on
the tensor's zero-copy array view. ``IFNeuron`` is the clip-ANN's
clip(z, 0, theta), always a new tensor (hooks clip it in place).

Non-finite values raise the NumPy engine's DataError naming the node: torch
has no errstate, so every kernel that computes sums or products checks its
output (``_checked``: one reduction); kernels that only select, compare or
move values cannot make a finite input non-finite and are not checked.
torch is imported when a ``TorchGraph`` is built, never at import time.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from snnc.compiler.execute import _feeds, overflow_error
from snnc.compiler.execute.kernels import KERNELS, _overhang
from snnc.compiler.ir import Graph, Input, ops


def _finite(v) -> bool:
    """Every element finite: one sum (finite whenever every term is, short of |sum| > 3e38), else a full test."""
    import torch
    return bool(torch.isfinite(v.sum())) or bool(torch.isfinite(v).all())


def _checked(fn: Callable) -> Callable:
    """``fn`` raising FloatingPointError (as NumPy's errstate does) when its output is not finite."""
    def run(*xs):
        y = fn(*xs)
        if not _finite(y):
            raise FloatingPointError("overflow or invalid value (torch engine)")
        return y
    return run


def _t(a: np.ndarray):
    import torch
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).copy())


def _input(x: np.ndarray):
    """A float32 tensor sharing ``x``'s memory when it can (a read-only array is copied)."""
    import torch
    a = np.ascontiguousarray(x, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _conv(op: ops.Conv2d):
    """ONNX Conv as ``torch_conv.conv2d``, in channels-last memory layout (NHWC strides, the same NCHW
    tensor): oneDNN's convolutions there are 1.2-20x faster on CPU than torch's NCHW kernels on the suite's
    layer shapes (1x1 and depthwise most); the values are the same sums in another order."""
    import torch
    import torch.nn.functional as F
    last = torch.channels_last
    w, b = _t(op.weight).contiguous(memory_format=last), None if op.bias is None else _t(op.bias)
    pt, pl, pb, pr = op.padding
    sym = (pt, pl) == (pb, pr)
    args = (tuple(op.stride), (pt, pl) if sym else (0, 0), tuple(op.dilation), op.groups)
    if sym:
        return _checked(lambda x: F.conv2d(x.contiguous(memory_format=last), w, b, *args))
    return _checked(lambda x: F.conv2d(F.pad(x, (pl, pr, pt, pb)).contiguous(memory_format=last), w, b, *args))


def _linear(op: ops.Linear):
    import torch.nn.functional as F
    w, b = _t(op.weight), None if op.bias is None else _t(op.bias)
    return _checked(lambda x: F.linear(x, w, b))


def _affine(scale: np.ndarray, shift: np.ndarray, center: Optional[np.ndarray] = None):
    s, h = _t(np.reshape(scale, -1)), _t(np.reshape(shift, -1))   # (C,), viewed (1, C, 1, ...) per input
    m = None if center is None else _t(np.reshape(center, -1))

    def fn(x):
        view = (1, -1) + (1,) * (x.ndim - 2)
        y = x if m is None else x - m.reshape(view)
        return y * s.reshape(view) + h.reshape(view)
    return _checked(fn)


def _batchnorm(op: ops.BatchNorm):
    return _affine(op.gamma / np.sqrt(op.var + op.eps), op.beta, op.mean)


def _plain_window(op, shape) -> bool:
    """True when torch's pooling reads the windows as ONNX does: no padding and no ceil-mode overhang."""
    out = op.infer([shape])[1:]
    dil = getattr(op, "dilation", (1, 1))
    return not any(op.padding) and _overhang(shape[1], shape[2], op, out, dil) == (0, 0)


def _maxpool(op: ops.MaxPool2d, shape):
    import torch.nn.functional as F
    if not _plain_window(op, shape):
        return None
    return lambda x: F.max_pool2d(x, tuple(op.kernel), tuple(op.stride), 0, tuple(op.dilation))


def _avgpool(op: ops.AvgPool2d, shape):
    import torch.nn.functional as F
    if not _plain_window(op, shape):
        return None
    return _checked(lambda x: F.avg_pool2d(x, tuple(op.kernel), tuple(op.stride)))


def _neuron(op: ops.IFNeuron):
    import torch
    if np.all(np.isposinf(op.threshold)):
        return lambda x: torch.clamp(x, min=0.0)
    th = _t(op.threshold)
    return lambda x: torch.minimum(torch.clamp(x, min=0.0), th.reshape((1, -1) + (1,) * (x.ndim - 2)))


def _add(op):
    def fn(*xs):
        y = xs[0] + xs[1] if len(xs) > 1 else xs[0].clone()
        for v in xs[2:]:
            y += v
        return y
    return _checked(fn)


def _permute(op: ops.ChannelPermute):
    import torch
    perm = torch.from_numpy(np.array(op.perm, np.int64))
    return lambda x: x[:, perm]


#: op class -> builder(op, input shape) -> fn(*tensors), or None to use the NumPy kernel for that op
TORCH_KERNELS: dict[type, Callable] = {
    ops.Conv2d: lambda op, s: _conv(op),
    ops.Linear: lambda op, s: _linear(op),
    ops.BatchNorm: lambda op, s: _batchnorm(op),
    ops.ChannelAffine: lambda op, s: _affine(op.scale, op.shift),
    ops.ReLU: lambda op, s: __import__("torch").relu,
    ops.Clip: lambda op, s: lambda x: x.clamp(op.lo, op.hi),
    ops.Identity: lambda op, s: lambda x: x,
    ops.MaxPool2d: _maxpool,
    ops.AvgPool2d: _avgpool,
    ops.GlobalAvgPool2d: lambda op, s: _checked(lambda x: x.mean(dim=(2, 3), keepdim=True)),
    ops.Flatten: lambda op, s: lambda x: x.reshape(x.shape[0], -1),
    ops.Reshape: lambda op, s: lambda x: x.reshape((x.shape[0],) + tuple(op.shape)),
    ops.ChannelPermute: lambda op, s: _permute(op),
    ops.ChannelSlice: lambda op, s: lambda x: x[:, op.start:op.stop].contiguous(),
    ops.Add: lambda op, s: _add(op),
    ops.Concat: lambda op, s: lambda *xs: __import__("torch").cat(xs, dim=1),
    ops.IFNeuron: lambda op, s: _neuron(op),
}


def _numpy_kernel(op):
    """The op's NumPy kernel on zero-copy array views of CPU tensors (non-finite values pass, see above)."""
    import torch
    kernel = KERNELS[type(op)]

    def fn(*xs):
        with np.errstate(all="ignore"):
            y = kernel(op, *[x.contiguous().numpy() for x in xs])
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return _checked(fn)


def _open_neuron(node) -> bool:
    return isinstance(node.op, ops.IFNeuron) and bool(np.all(np.isposinf(node.op.threshold)))


def _relu_inplace(x):
    return x.relu_()


class TorchGraph:
    """``graph`` compiled to torch closures (module docstring); ``run`` evaluates a batch."""

    def __init__(self, graph: Graph, inplace: bool = False):
        """``inplace``: a neuron layer without thresholds (+inf, the calibration's open graph) that is the only
        reader of a computed value runs ReLU in place on it (no new tensor: a fresh one costs page faults
        that were 7x the ReLU on the suite's layers); only for hooks that keep no node's value but the
        neuron layers' (the calibration loop's)."""
        self.graph = graph
        self.inputs = [n.name for n in graph.inputs]
        last_use, readers = {}, {}
        for i, node in enumerate(graph.nodes):
            for src in node.inputs:
                last_use[src] = i
                readers[src] = readers.get(src, 0) + 1
        keep = set(graph.outputs)
        self.steps = []
        for i, node in enumerate(graph.nodes):
            if isinstance(node.op, Input):
                fn = None
            elif inplace and _open_neuron(node) and readers[node.inputs[0]] == 1 and node.inputs[0] not in keep \
                    and not isinstance(graph.node(node.inputs[0]).op, Input):
                fn = _relu_inplace
            else:
                build = TORCH_KERNELS.get(type(node.op))
                shape = graph.node(node.inputs[0]).shape if node.inputs else ()
                fn = (build(node.op, shape) if build else None) or _numpy_kernel(node.op)
            drop = [s for s in set(node.inputs) if last_use.get(s) == i and s not in keep]
            self.steps.append((node, fn, tuple(node.inputs), drop))

    def run(self, x, hook: Optional[Callable] = None) -> dict:
        """{output name: tensor} for a batch ``x`` (array or tensor (N, *input shape)); ``hook(name, tensor)``
        as in ``execute.run``: a returned tensor replaces the node's value downstream."""
        import torch
        if len(self.inputs) != 1:
            raise ValueError(f"TorchGraph runs single-input graphs; this one has {len(self.inputs)}")
        if not isinstance(x, torch.Tensor):
            x = _input(_feeds(self.graph, x)[self.inputs[0]])   # the NumPy engine's checks (shape, dtype)
        values = {}
        with torch.no_grad():
            for node, fn, ins, drop in self.steps:
                name = node.name
                if fn is None:
                    values[name] = x
                else:
                    try:
                        values[name] = fn(*[values[s] for s in ins])
                    except FloatingPointError as e:
                        raise overflow_error(node, str(e)) from None
                if hook is not None:
                    replaced = hook(name, values[name])
                    if replaced is not None:
                        values[name] = replaced
                for s in drop:
                    del values[s]
        return {k: values[k] for k in self.graph.outputs}

    def run_numpy(self, x, hook: Optional[Callable] = None) -> dict:
        """``run`` with NumPy on both sides: ``hook(name, array)`` gets zero-copy array views of the tensors
        (NCHW arrays, with channels-last strides after a convolution; it may return an array), the outputs
        are arrays: a drop-in for ``execute.run``'s hooks."""
        import torch

        def wrapped(name, value):
            out = hook(name, value.numpy())
            return None if out is None else torch.from_numpy(np.asarray(out, dtype=np.float32))
        return {k: v.numpy() for k, v in self.run(x, None if hook is None else wrapped).items()}
