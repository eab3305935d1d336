"""Threshold folding: every neuron gets threshold 1 (algorithms.md section 2).

With calibrated thresholds theta_l the folded network carries x~ = x / a,
where the scale ``a`` of a neuron layer's output is its theta and of the
graph input is 1. A synaptic layer (Conv2d, Linear, ChannelAffine) absorbs
its input scale and produces the scale its readers need::

    W~[c, k] = W[c, k] * a_in[k] / a_out[c],   b~[c] = b[c] / a_out[c]

(k: input channel of a conv column / input feature of a linear); a_out is
the theta of the neuron it drives, or 1 for the readout, so the output layer
gets W~_L[:, k] = W_L[:, k] * theta_{L-1}[k]. Scales pass through ops that
commute with per-channel scaling (see ``scales``): pooling, resize, zero pad,
channel permute, concat (each source keeps its scale), flatten (a channel's
scale covers its block of features).

Where a value's scale cannot be chosen to match its reader (a residual
identity skip from neuron a into the Add feeding neuron o; a reshape that
mixes channels; a non-zero pad), an explicit ``ChannelAffine(scale=a_in/a_want,
shift=0)`` gain is inserted on that edge (theta_a / theta_o for the skip); a
projection (1x1 conv) skip absorbs it into its weights instead. An Add that
no reader constrains (read by a synaptic layer) takes, per channel, the first
input's non-zero scale, so a dead channel of one input does not zero the others.

Dead channels (theta = 0) never fire: their incoming weights and bias become
0 (the folded neuron stays at v(0) = 0.5 < 1) and their outgoing weights are
0 (a_in = 0). Evaluated by the ANN executor (IFNeuron = clip(z, 0, 1)) the
folded graph equals the clip-ANN with thresholds theta.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import CalibrationError
from snnc.compiler.ir import ChannelAffine, Graph, IFNeuron, Input
from snnc.compiler.passes import scales
from snnc.compiler.passes.base import PassResult, f32, replace_op, unique_name


def _inv(a):
    out = np.zeros_like(a)
    np.divide(1.0, a, out=out, where=a != 0)
    return out


def _absorbs(node) -> bool:
    """A synapse (an op with a ``weight_field``) absorbs its input scale into its weights."""
    return node.op.weight_field is not None


def _absorb(op, a_in, a_out):
    """W~[c, k] = W[c, k] * a_in[k] / a_out[c], b~ = b / a_out (the op's ``rescaled`` trait)."""
    new = op.rescaled(a_in, _inv(a_out))
    return replace_op(op, **{k: None if v is None else f32(v) for k, v in new.items()})


def _theta(node) -> np.ndarray:
    th = node.op.threshold.astype(np.float64)
    if not np.all(np.isfinite(th)) or np.any(th < 0):
        raise CalibrationError(f"IFNeuron {node.name!r} has non-finite or negative thresholds; "
                               f"calibrate the graph before folding")
    return th


def _merge(wishes: list):
    """One scale from the readers' wishes; zeros (dead channels) only when every reader agrees."""
    arrays = [w for w in wishes if w is not None]
    if not arrays:
        return None
    if any(np.isnan(w).any() for w in arrays):
        return _merge_partial(arrays, len(arrays) == len(wishes))
    if len(arrays) == len(wishes) and all(np.array_equal(arrays[0], w) for w in arrays[1:]):
        return arrays[0]
    return np.where(arrays[0] == 0, 1.0, arrays[0])


def _merge_partial(arrays: list, all_wish: bool) -> np.ndarray:
    """Per-channel merge of wishes with NaN for channels a reader does not read (channel slices).

    A channel takes the first wish that covers it; a zero survives only when
    every reader wishes and all that read the channel agree; unread: 1.
    """
    s = np.stack(arrays)
    read = ~np.isnan(s)
    first = s[read.argmax(axis=0), np.arange(s.shape[1])]
    agree = all_wish & np.all(~read | (s == first), axis=0)
    out = np.where(agree | (first != 0), first, 1.0)
    return np.where(np.isnan(out), 1.0, out)


def demands(graph: Graph) -> dict:
    """Backward pass: the scale each node's readers wish for (None: no wish)."""
    wishes = {n.name: [] for n in graph.nodes}
    for o in graph.outputs:
        wishes[o].append(np.ones(graph.node(o).shape[0]))
    d = {}
    for node in reversed(graph.nodes):
        d[node.name] = _merge(wishes[node.name])
        if isinstance(node.op, IFNeuron):
            edge = [_theta(node)]
        elif _absorbs(node):
            edge = [None]
        elif scales.commutes(node):
            edge = scales.backward(node, graph, d[node.name])
        else:
            edge = [np.ones(graph.node(i).shape[0]) for i in node.inputs]
        for i, e in zip(node.inputs, edge):
            wishes[i].append(e)
    return d


def _required(node, graph, d, a_in) -> list:
    """Scales an input edge *must* carry (None: whatever it carries)."""
    if isinstance(node.op, IFNeuron):
        return [_theta(node)]
    if node.type == "Add":
        return [d if d is not None else _shared_scale(a_in)] * len(a_in)
    if _absorbs(node) or isinstance(node.op, Input):
        return [None] * len(a_in)
    if scales.forward(node, graph, a_in) is not None:
        return [None] * len(a_in)
    return [np.ones(len(a)) for a in a_in]


def _shared_scale(a_in: list) -> np.ndarray:
    """The scale of an Add no reader constrains: per channel, the first input's non-zero scale (else 1).

    A zero scale marks a dead channel of that input (its value is 0); taking
    it for the sum would give every other input gain a_j / 0 -> 0 on that
    channel and silently drop their contribution.
    """
    stacked = np.stack([np.broadcast_to(a, np.shape(a_in[0])) for a in a_in])
    live = stacked != 0
    first = stacked[live.argmax(axis=0), np.arange(stacked.shape[1])]
    return np.where(live.any(axis=0), first, 1.0)


def _fold_node(node, graph, d, a_in):
    if isinstance(node.op, Input):
        return node.op, np.ones(node.shape[0])
    if isinstance(node.op, IFNeuron):
        return replace_op(node.op, threshold=np.ones(node.shape[0], np.float32)), _theta(node)
    if _absorbs(node):
        a_out = d if d is not None else np.ones(node.shape[0])
        return _absorb(node.op, a_in[0], a_out), a_out
    out = scales.forward(node, graph, a_in)
    return node.op, (np.ones(node.shape[0]) if out is None else out)


def _gain(a_from, a_to) -> ChannelAffine:
    return ChannelAffine(scale=f32(a_from * _inv(a_to)), shift=np.zeros(1, np.float32))


def fold_thresholds(graph: Graph) -> PassResult:
    d = demands(graph)
    a, spec, changes, taken = {}, [], [], {n.name for n in graph.nodes}
    for node in graph.nodes:
        ins = list(node.inputs)
        a_in = [a[i] for i in ins]
        for j, want in enumerate(_required(node, graph, d[node.name], a_in)):
            if want is not None and not np.allclose(a_in[j], want, rtol=1e-7, atol=0):
                g = unique_name(taken, f"{ins[j]}_gain_{node.name}")
                taken.add(g)
                spec.append((g, _gain(a_in[j], want), (ins[j],)))
                changes.append(f"inserted per-channel gain {g!r} on edge {ins[j]!r} -> {node.name!r}")
                ins[j], a_in[j] = g, want
        op, a[node.name] = _fold_node(node, graph, d[node.name], a_in)
        spec.append((node.name, op, tuple(ins)))
        changes += _report(node, graph)
    outputs = []
    for o in graph.outputs:
        if not np.allclose(a[o], 1.0, rtol=1e-7, atol=0):
            g = unique_name(taken, f"{o}_unscaled")
            taken.add(g)
            spec.append((g, _gain(a[o], np.ones_like(a[o])), (o,)))
            changes.append(f"output {o!r} carries neuron scales: appended gain {g!r}")
            o = g
        outputs.append(o)
    return PassResult(Graph.build(spec, outputs, graph.meta), changes)


def _report(node, graph) -> list:
    if _absorbs(node):
        return [f"folded thresholds into {node.type} {node.name!r}"]
    if isinstance(node.op, IFNeuron):
        dead = int(np.sum(node.op.threshold == 0))
        if dead:
            return [f"IFNeuron {node.name!r}: {dead} dead channel(s) (threshold 0) removed: "
                    f"incoming and outgoing weights zeroed"]
    return []
