"""How a per-channel scale moves through ops that commute with it (algorithms.md section 2).

A *scale* ``a`` of a node is a float64 vector over the channels of its
output (features of a vector): the folded network carries x~ = x / a where
the clip-ANN carries x (a = 0: the folded value is 0, used for dead channels).

``forward(node, graph, a_in)`` gives the output scale of an op that commutes
with per-channel scaling (None: it does not, so its inputs must be unscaled).
``backward(node, graph, d_out)`` gives, per input, the scale that input should
carry for the output to carry ``d_out`` (None: no wish). Rules:

* same channels (MaxPool2d for a >= 0, AvgPool2d, GlobalAvgPool2d, Resize,
  Pad with value 0): a_out = a_in
* ChannelPermute: a_out = a_in[perm]; Concat: a_out = concat(a_in...)
* ChannelSlice: a_out = a_in[start:stop] (exact); backward wishes d on the
  kept channels and NaN ("not read") on the others, merged per channel by
  ``fold_thresholds``
* Flatten / Reshape: the scale spreads over every element of a channel and is
  read back per output channel; representable only when each output channel
  sees one value (a channel maps onto its block of features).
* Add: all inputs must carry the same scale (fixed with explicit gains).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from snnc.compiler.ir import Graph, Node


def _same(node, graph, a):
    return a[0]


def _pad(node, graph, a):
    return a[0] if node.op.value == 0 else None


def _permute(node, graph, a):
    return a[0][node.op.perm]


def _concat(node, graph, a):
    return np.concatenate(a)


def _slice(node, graph, a):
    return a[0][node.op.start:node.op.stop]


def _add(node, graph, a):
    return a[0] if all(np.array_equal(a[0], x) for x in a[1:]) else None


def respread(a: np.ndarray, src: Sequence[int], dst: Sequence[int]) -> Optional[np.ndarray]:
    """Per-channel scale of shape ``src`` re-read per channel of shape ``dst`` (None if mixed)."""
    full = np.broadcast_to(a.reshape((-1,) + (1,) * (len(src) - 1)), tuple(src)).reshape(tuple(dst))
    rows = full.reshape(dst[0], -1)
    if not np.all(rows == rows[:, :1]):
        return None
    return rows[:, 0].copy()


def _reshape(node, graph, a):
    return respread(a[0], graph.node(node.inputs[0]).shape, node.shape)


FORWARD: dict[str, Callable] = {
    "MaxPool2d": _same, "AvgPool2d": _same, "GlobalAvgPool2d": _same, "Resize": _same,
    "Pad": _pad, "ChannelPermute": _permute, "Concat": _concat, "Add": _add,
    "ChannelSlice": _slice,
    "Flatten": _reshape, "Reshape": _reshape,
}


def forward(node: Node, graph: Graph, a_in: list) -> Optional[np.ndarray]:
    rule = FORWARD.get(node.type)
    return None if rule is None else rule(node, graph, a_in)


def backward(node: Node, graph: Graph, d: Optional[np.ndarray]) -> list:
    """Per-input wished scale for output scale ``d`` (commuting ops only; others: no wish)."""
    n_in = len(node.inputs)
    if d is None or node.type not in FORWARD:
        return [None] * n_in
    t = node.type
    if t == "Pad" and node.op.value != 0:
        return [np.ones(graph.node(node.inputs[0]).shape[0])]
    if t == "ChannelPermute":
        e = np.empty_like(d)
        e[node.op.perm] = d
        return [e]
    if t == "ChannelSlice":
        e = np.full(graph.node(node.inputs[0]).shape[0], np.nan)
        e[node.op.start:node.op.stop] = d
        return [e]
    if t == "Concat":
        cuts = np.cumsum([graph.node(i).shape[0] for i in node.inputs])[:-1]
        return list(np.split(d, cuts))
    if t in ("Flatten", "Reshape"):
        return [respread(d, node.shape, graph.node(node.inputs[0]).shape)]
    return [d] * n_in
