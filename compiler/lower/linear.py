"""Currents that meet a synapse or a Concat before any neuron, composed into one synapse per source.

A Loihi synapse reads spikes (or, for the direct-coded first layer, the host's
current) and writes into neurons; it cannot read another synapse's output. An
SNN can hold a linear network of currents between spikes and the neuron that
integrates them: a synapse reading a residual Add with no activation after it
(MobileNet's linear bottleneck), a kept ChannelAffine (a batch norm before the
ReLU that the compile could not fold), a Concat (DenseNet). Being linear, the
current x into a neuron is a sum of one linear map per source s (a neuron's
spikes, a host value, a max-pooled current)::

    x = sum_s L_s(s) + b        (b per channel)

``linearise`` composes the maps along every path and rewrites x as an Add of one
synapse per source (or one synapse), named ``x/s`` (``x`` when there is one);
x keeps its name and value, the intermediate currents disappear. Each rule is
exact (no rounding beyond float32 weights):

* affine after L (``y = a x + c``): rows of L scaled by a, bias a b + c;
* L after an affine / a 1x1 map: columns scaled (composition below);
* Concat: the term of input i placed on its channels (zero rows elsewhere: the
  synapse writes only its slice of the neuron, as Loihi's axon routing does);
* Linear after Linear: W2 W1, bias W2 b1 + b2;
* Conv (k2, s2, d2, no padding) after Conv (k1, s1, p1, d1)::

      W[o, i, s1 d2 a + d1 u] += sum_m W2[o, m, a] W1[m, i, u],  stride s1 s2, padding p1, dilation 1

  and a padded Conv after a 1x1 / stride 1 / unpadded one (W2 W1 per tap) when
  the current entering it carries no bias (a padded conv of a constant is not
  constant at the border).

Anything else (an average pool that could not be fused, a max pool between two
synapses, a Flatten of a map current, a grouped conv after a Concat...) leaves
that current as it was, with the reason in the log: floating point runs it as a
graded current into the next synapse, fixed point refuses it by name.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from snnc.compiler.ir import Graph, IFNeuron
from snnc.compiler.ir.ops import Add, ChannelAffine, Concat, Conv2d, Input, Linear, MaxPool2d
from snnc.compiler.passes.base import rebuild, spec_of


class NotExact(Exception):
    """A composition with no exact one-synapse form (the message says why)."""


@dataclass(frozen=True)
class Lin:
    """A linear map from a source to a node: ``w`` (O, I, kh, kw) with conv geometry, or (O, I) for
    vectors; ``op``: the original op when nothing was composed (kept as built, groups included)."""

    w: np.ndarray
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)
    dilation: tuple = (1, 1)
    op: object = None


def _dense(op) -> Lin:
    """A Conv2d / Linear as a dense map (groups expanded)."""
    if isinstance(op, Linear):
        return Lin(np.asarray(op.weight, np.float64), op=op)
    w = np.asarray(op.weight, np.float64)
    o, ig = w.shape[:2]
    if op.groups > 1:
        full = np.zeros((o, ig * op.groups) + w.shape[2:])
        per = o // op.groups
        for g in range(op.groups):
            full[g * per:(g + 1) * per, g * ig:(g + 1) * ig] = w[g * per:(g + 1) * per]
        w = full
    return Lin(w, tuple(op.stride), tuple(op.padding), tuple(op.dilation), op)


def _eye(shape) -> Lin:
    c = shape[0]
    return Lin(np.eye(c)[:, :, None, None] if len(shape) == 3 else np.eye(c))


def _pointwise(w) -> bool:
    return w.ndim == 2


def compose(outer: Lin, inner: Lin) -> Lin:
    """``outer`` after ``inner`` (both dense), exactly, or NotExact."""
    if outer.w.ndim != inner.w.ndim:
        raise NotExact("a map changes rank on the way (a Flatten of a map current)")
    if _pointwise(outer.w):
        return Lin(outer.w @ inner.w)
    w2, w1 = outer.w, inner.w
    if not any(outer.padding):
        (s1h, s1w), (d1h, d1w), (d2h, d2w) = inner.stride, inner.dilation, outer.dilation
        k2h, k2w, k1h, k1w = w2.shape[2], w2.shape[3], w1.shape[2], w1.shape[3]
        out = np.zeros((w2.shape[0], w1.shape[1], s1h * d2h * (k2h - 1) + d1h * (k1h - 1) + 1,
                        s1w * d2w * (k2w - 1) + d1w * (k1w - 1) + 1))
        for a in range(k2h):
            for b in range(k2w):
                tap = np.einsum("om,miuv->oiuv", w2[:, :, a, b], w1)
                y, x = s1h * d2h * a, s1w * d2w * b
                out[:, :, y:y + d1h * (k1h - 1) + 1:d1h, x:x + d1w * (k1w - 1) + 1:d1w] += tap
        return Lin(out, (s1h * outer.stride[0], s1w * outer.stride[1]), inner.padding)
    if w1.shape[2:] == (1, 1) and inner.stride == (1, 1) and not any(inner.padding):
        return Lin(np.einsum("omhw,mi->oihw", w2, w1[:, :, 0, 0]), outer.stride, outer.padding, outer.dilation)
    raise NotExact("a padded Conv after a Conv that is not 1x1 / stride 1 / unpadded")


def _bias_through(lin: Lin, b: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """The per-channel bias a constant per-channel current ``b`` becomes through ``lin``."""
    if b is None or not np.any(b):
        return None
    if lin.w.ndim == 4 and any(lin.padding):
        raise NotExact("a padded Conv after a biased current (a padded conv of a constant is not constant at "
                       "the border)")
    return lin.w.reshape(lin.w.shape[0], lin.w.shape[1], -1).sum(axis=2) @ b if lin.w.ndim == 4 else lin.w @ b


def _add(a, b):
    return b if a is None else (a if b is None else a + b)


class _Terms:
    """terms(x) = ([(source, Lin or None)], per-channel bias or None): x as a sum of maps of sources."""

    def __init__(self, graph: Graph, leaves: set):
        self.g, self.leaves, self.memo = graph, leaves, {}
        self.views: dict = {}        # new Flatten views of leaves: name -> (op, leaf)

    def __call__(self, name: str):
        if name not in self.memo:
            self.memo[name] = self._terms(self.g.node(name))
        return self.memo[name]

    def _terms(self, node):
        if node.name in self.leaves:
            return [(node.name, None)], None
        op = node.op
        if isinstance(op, (Conv2d, Linear, ChannelAffine)):
            return self._synapse(node)
        if isinstance(op, Add):
            terms, bias = [], None
            for i in node.inputs:
                t, b = self(i)
                terms, bias = terms + t, _add(bias, b)
            return terms, bias
        if isinstance(op, Concat):
            return self._concat(node)
        if op.virtual and len(self.g.node(node.inputs[0]).shape) == len(node.shape):
            return self(node.inputs[0])
        raise NotExact(f"{node.type} {node.name!r} on the way has no exact one-synapse form")

    def _synapse(self, node):
        src = self.g.node(node.inputs[0])
        op = node.op
        if isinstance(op, Linear) and src.op.virtual and isinstance(self.g.node(src.inputs[0]).op, Concat):
            return self._flat_concat(node, src)
        if isinstance(op, ChannelAffine):
            c = node.shape[0]
            a = np.broadcast_to(np.asarray(op.scale, np.float64), (c,))
            outer = Lin(np.diag(a)[:, :, None, None] if len(node.shape) == 3 else np.diag(a))
            own = np.broadcast_to(np.asarray(op.shift, np.float64), (c,))
        else:
            outer = _dense(op)
            own = None if op.bias is None else np.asarray(op.bias, np.float64)
        terms, b = self(src.name)
        out = []
        for s, lin in terms:
            inner = lin if lin is not None else _eye(self.g.node(s).shape)
            if lin is None and len(self.g.node(s).shape) != len(src.shape):
                raise NotExact(f"{node.name!r} reads a reshaped current")
            kept = lin is None and not isinstance(op, ChannelAffine)
            out.append((s, replace(outer, op=op) if kept else compose(outer, inner)))
        return out, _add(_bias_through(outer, b), own)

    def _flat_concat(self, node, flat):
        """Linear(Flatten(Concat(leaves))): each leaf, flattened, feeds its columns of W (channel-major)."""
        cat, w = self.g.node(flat.inputs[0]), np.asarray(node.op.weight, np.float64)
        terms, lo = [], 0
        for i in cat.inputs:
            if i not in self.leaves:
                raise NotExact(f"Concat {cat.name!r} of a current read through a Flatten")
            k = int(np.prod(self.g.node(i).shape))
            view = f"{i}/flat"
            self.views[view] = (flat.op, i)
            terms.append((view, Lin(w[:, lo:lo + k])))
            lo += k
        return terms, None if node.op.bias is None else np.asarray(node.op.bias, np.float64)

    def _concat(self, node):
        terms, bias, lo, c = [], [], 0, node.shape[0]
        for i in node.inputs:
            t, b = self(i)
            k = self.g.node(i).shape[0]
            for s, lin in t:
                lin = lin if lin is not None else _eye(self.g.node(s).shape)
                w = np.zeros((c,) + lin.w.shape[1:])
                w[lo:lo + k] = lin.w
                terms.append((s, Lin(w, lin.stride, lin.padding, lin.dilation)))
            bias.append(np.zeros(k) if b is None else b)
            lo += k
        return terms, np.concatenate(bias)


def _leaves(graph: Graph, host) -> set:
    """Values a synapse may read: host values, inputs, spikes, max-pooled currents, views of these."""
    out = set(host)
    for n in graph:
        if isinstance(n.op, (IFNeuron, Input, MaxPool2d)) or \
                (n.op.virtual and n.inputs and n.inputs[0] in out):
            out.add(n.name)
    return out


def _plain(graph: Graph, name: str, leaves: set) -> bool:
    """What the Lava lowering builds as it is: Adds / views of synapses that read a source directly."""
    node = graph.node(name)
    if name in leaves:
        return True
    if isinstance(node.op, Add) or node.op.virtual:
        return all(_plain(graph, i, leaves) for i in node.inputs)
    return node.op.weight_field is not None and node.inputs[0] in leaves


def _inputs_to_integrate(graph: Graph, host) -> list:
    """The currents a neuron, a max pool or the readout integrates (each rewritten at most once)."""
    out = [n.inputs[0] for n in graph if isinstance(n.op, (IFNeuron, MaxPool2d))]
    return [x for x in dict.fromkeys(out + [graph.outputs[0]]) if x not in host]


def _emit(graph: Graph, x: str, terms, bias, host, views) -> list:
    """Spec entries that compute ``x`` as an Add of one synapse per source (sources merged)."""
    spec = [(v, views.pop(v)[0], (views_leaf,)) for v, views_leaf in
            [(v, views[v][1]) for v in dict.fromkeys(s for s, _ in terms) if v in views]]
    merged: dict = {}
    for s, lin in terms:  # paths from one source with one geometry add up to one synapse
        key = (s, None if lin is None else (lin.w.shape, lin.stride, lin.padding, lin.dilation))
        if key in merged and lin is not None:
            merged[key] = (s, replace(lin, w=merged[key][1].w + lin.w, op=None))
        else:
            merged[(key, len(merged)) if key in merged else key] = (s, lin)
    items = list(merged.values())
    first = next((i for i, (s, lin) in enumerate(items) if s not in host and lin is not None), 0)
    names = []
    for i, (s, lin) in enumerate(items):
        b = bias if i == first else None
        if lin is None and b is None:
            names.append(s)
            continue
        name = x if len(items) == 1 else f"{x}/{s}" + (f"#{i}" if f"{x}/{s}" in names else "")
        spec.append((name, _op(lin, b), (s,)))
        names.append(name)
    if len(items) > 1:
        spec.append((x, Add(), tuple(names)))
    return spec


def _op(lin: Optional[Lin], bias):
    f32 = None if bias is None else np.ascontiguousarray(bias, np.float32)
    if lin is None:
        return ChannelAffine(np.ones(1, np.float32), f32)
    if lin.op is not None:
        return replace(lin.op, bias=f32)
    w = np.ascontiguousarray(lin.w, np.float32)
    if w.ndim == 2:
        return Linear(w, f32)
    return Conv2d(w, f32, stride=lin.stride, padding=lin.padding, dilation=lin.dilation)


def linearise(graph: Graph, host=frozenset()) -> tuple[Graph, list, set, frozenset]:
    """(graph with every integrated current a sum of synapses on sources, log, the new host nodes, the
    currents composed)."""
    leaves = _leaves(graph, host)
    terms = _Terms(graph, leaves)
    log, new = [], {}
    for x in _inputs_to_integrate(graph, host):
        if _plain(graph, x, leaves):
            continue
        try:
            t, b = terms(x)
            new[x] = _emit(graph, x, t, b, host, terms.views)
        except NotExact as e:
            log.append(f"{x}: not composed ({e}); it stays a current into a synapse (floating point only)")
            continue
        log.append(f"{x}: {len(t)} path(s) composed into {sum(1 for e in new[x] if e[1].weight_field)} synapse(s) on "
                   f"{', '.join(dict.fromkeys(s for s, _ in t))}")
    if not new:
        return graph, log, set(), frozenset()
    spec = []
    for n, op, ins in spec_of(graph):
        spec += new.get(n, [(n, op, ins)])
    g = _prune(rebuild(graph, spec))
    added: set = set()
    for n in g:  # terms on host values (and their Add) are host values too
        if n.name not in host and n.inputs and not isinstance(n.op, IFNeuron) and \
                all(i in host or i in added for i in n.inputs):
            added.add(n.name)
    return g, log, added, frozenset(new)


def _prune(graph: Graph) -> Graph:
    """Drop nodes nothing reads any more (the composed intermediate currents)."""
    used = set(graph.outputs)
    for n in reversed(graph.nodes):
        if n.name in used:
            used.update(n.inputs)
    spec = [s for s in spec_of(graph) if s[0] in used]
    return graph if len(spec) == len(graph.nodes) else rebuild(graph, spec)
