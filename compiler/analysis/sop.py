"""Exact synaptic-operation counting: per-neuron fan-out maps (algorithms.md section 7).

A spike costs one synaptic operation per synapse it drives. For every spiking
layer (``IFNeuron`` node) :func:`fanout_maps` returns ``F`` of the layer's shape
with ``F[i]`` = number of synapses neuron ``i`` drives, so the SOPs of a step
are exactly ``sum_i s_i(t) * F[i]`` (a dot product with the spike mask).

``F`` is the transposed connectivity applied to all-ones: walking forward from
the neuron through structural ops until a synapse is reached,

* ``Conv2d``: ``F[c, y, x]`` = number of (output channel, output position)
  pairs whose receptive field covers ``(y, x)`` with a nonzero weight from
  ``c`` (padding borders, strides, dilation and groups included: taps that
  fall on padding are never driven by a spike);
* ``Linear``: ``F[k]`` = number of nonzero weights in column ``k``;
* ``ChannelAffine`` / ``BatchNorm`` (e.g. the residual skip gain, or a kept
  batch norm before a conv): a diagonal synapse, 1 where the channel's scale is
  nonzero, plus, on those channels, the synapses its graded output drives
  further on (``GAINS``: a neuron -> affine -> 3x3 conv spike costs 1 + the
  conv's fan-out, not 1);
* ``IFNeuron`` reached directly (identity skip into an ``Add``): 1; reached
  through a gain: nothing more (the gain's synapse was counted);
* structural ops pass fan-out back through their transpose: flatten / reshape
  / pad / permute / concat / add route it, a channel slice routes only the
  channels it keeps (the others drive nothing through it), a pool window hands every input
  pixel the fan-out of each window containing it (a path count: on
  non-overlapping pools this equals the composite connectivity), a resize
  uses its interpolation pattern;
* a spike that reaches no synapse (a graph output) costs 0.

Counts are float64 integers; they never depend on the weights' values, only on
which are nonzero.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.compiler.errors import SimulationError
from snnc.compiler.ir import Graph, IFNeuron, ops


def _window_transpose(g_out: np.ndarray, in_shape, kernel, stride, padding, dilation) -> np.ndarray:
    """Scatter per-window values back onto the input: F[c, s*h + d*i - p, ...] += g[c, i, j, h, w].

    ``g_out`` has shape (C, kh, kw, oh, ow) or (C, oh, ow) (same value for every tap).
    """
    c, h, w = in_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    pt, pl, pb, pr = padding
    oh, ow = g_out.shape[-2:]
    hp = max(h + pt + pb, (oh - 1) * sh + dh * (kh - 1) + 1)
    wp = max(w + pl + pr, (ow - 1) * sw + dw * (kw - 1) + 1)
    f = np.zeros((c, hp, wp), np.float64)
    for i in range(kh):
        for j in range(kw):
            tap = g_out[:, i, j] if g_out.ndim == 5 else g_out
            f[:, dh * i:dh * i + sh * (oh - 1) + 1:sh, dw * j:dw * j + sw * (ow - 1) + 1:sw] += tap
    return f[:, pt:pt + h, pl:pl + w]


def _conv_fanout(op: ops.Conv2d, in_shape, out_shape) -> np.ndarray:
    o, ig, kh, kw = op.weight.shape
    g = op.groups
    nz = (op.weight != 0).reshape(g, o // g, ig, kh, kw).sum(axis=1).reshape(g * ig, kh, kw)
    taps = np.broadcast_to(nz[:, :, :, None, None].astype(np.float64),
                           nz.shape + tuple(out_shape[1:]))
    return _window_transpose(taps, in_shape, (kh, kw), op.stride, op.padding, op.dilation)


def _channel_ones(scale: np.ndarray, in_shape) -> np.ndarray:
    nz = np.broadcast_to(scale != 0, (in_shape[0],)).astype(np.float64)
    return np.broadcast_to(nz.reshape((-1,) + (1,) * (len(in_shape) - 1)), in_shape).copy()


# synapse type -> fan-out of each input element (op, input shape, output shape)
SYNAPSES: dict[str, Callable] = {
    "Conv2d": _conv_fanout,
    "Linear": lambda op, s, o: (op.weight != 0).sum(axis=0).astype(np.float64),
    "ChannelAffine": lambda op, s, o: _channel_ones(op.scale, s),
    "BatchNorm": lambda op, s, o: _channel_ones(op.gamma, s),
    "IFNeuron": lambda op, s, o: np.ones(s, np.float64),
    "SigmaDeltaNeuron": lambda op, s, o: np.ones(s, np.float64),
}
GAINS = {"ChannelAffine", "BatchNorm"}   # elementwise synapses whose output may drive further synapses


def _pool_back(op, shapes, out, f, k):
    dil = getattr(op, "dilation", (1, 1))
    return _window_transpose(f, shapes[0], op.kernel, op.stride, op.padding, dil)


def _concat_back(op, shapes, out, f, k):
    start = sum(s[0] for s in shapes[:k])
    return f[start:start + shapes[k][0]]


def _permute_back(op, shapes, out, f, k):
    back = np.zeros_like(f)
    back[np.asarray(op.perm)] = f
    return back


def _slice_back(op, shapes, out, f, k):
    back = np.zeros(shapes[0], np.float64)
    back[op.start:op.stop] = f
    return back


def _pad_back(op, shapes, out, f, k):
    pt, pl, _, _ = op.pads
    _, h, w = shapes[0]
    return f[:, pt:pt + h, pl:pl + w]


def _resize_back(op, shapes, out, f, k):
    from snnc.compiler.execute.kernels import _axis_matrix
    _, h, w = shapes[0]
    mh = (_axis_matrix(op.size[0], h, op) != 0).astype(np.float64)
    mw = (_axis_matrix(op.size[1], w, op) != 0).astype(np.float64)
    return np.einsum("oh,cop,pw->chw", mh, f, mw)


# structural op type -> fan-out of input k from the fan-out f of its output
STRUCTURAL: dict[str, Callable] = {
    "Flatten": lambda op, shapes, out, f, k: f.reshape(shapes[0]),
    "Reshape": lambda op, shapes, out, f, k: f.reshape(shapes[0]),
    "Identity": lambda op, shapes, out, f, k: f,
    "ReLU": lambda op, shapes, out, f, k: f,
    "Clip": lambda op, shapes, out, f, k: f,
    "Add": lambda op, shapes, out, f, k: f,
    "Concat": _concat_back,
    "ChannelPermute": _permute_back,
    "ChannelSlice": _slice_back,
    "Pad": _pad_back,
    "AvgPool2d": _pool_back,
    "MaxPool2d": _pool_back,
    "GlobalAvgPool2d": lambda op, shapes, out, f, k: np.broadcast_to(f, shapes[0]).copy(),
    "Resize": _resize_back,
}


def fanout_maps(graph: Graph) -> dict[str, np.ndarray]:
    """Exact fan-out F (float64, the node's per-sample shape) of every IFNeuron node.

    A structural consumer (pool, reshape, concat, ...) passes on the fan-out of its own readers, and
    a gain (``GAINS``) adds the fan-out of its graded output, so the maps are filled for the
    (node, behind-a-gain) pairs spikes reach, in reverse topological order: one visit per node and
    edge, no recursion (a chain of thousands of pools is no deeper than one)."""
    needed, stack = set(), [(n.name, False) for n in graph.of_type(IFNeuron)]
    while stack:
        key = stack.pop()
        if key in needed:
            continue
        needed.add(key)
        name, graded = key
        for c in graph.consumers(name):
            if c.type in STRUCTURAL:
                stack.append((c.name, graded))
            elif c.type in GAINS:
                stack.append((c.name, True))
    fan: dict[tuple, np.ndarray] = {}
    for node in reversed(graph.nodes):
        for graded in (False, True):
            if (node.name, graded) in needed:
                fan[node.name, graded] = _fanout(graph, node, graded, fan)
    return {n.name: fan[n.name, False] for n in graph.of_type(IFNeuron)}


def _fanout(graph: Graph, node, graded: bool, fan: dict) -> np.ndarray:
    """Synapses driven per element of ``node`` (``graded``: behind a gain, where a neuron adds
    nothing); ``fan`` holds every structural consumer's and every gain's map."""
    total = np.zeros(node.shape, np.float64)
    for c in graph.consumers(node.name):
        shapes = [graph.node(i).shape for i in c.inputs]
        for k, src in enumerate(c.inputs):
            if src != node.name or (graded and c.type == "IFNeuron"):
                continue
            if c.type in SYNAPSES:
                own = SYNAPSES[c.type](c.op, node.shape, c.shape)
                total += own + (own * fan[c.name, True] if c.type in GAINS else 0.0)
            elif c.type in STRUCTURAL:
                total += STRUCTURAL[c.type](c.op, shapes, c.shape, fan[c.name, graded], k)
            else:
                raise SimulationError(f"cannot count synaptic operations of spikes from {node.name!r} "
                                      f"through node {c.name!r} ({c.type}): no fan-out rule")
    return total

