"""How a per-channel scale moves through ops that commute with it (algorithms.md section 2).

A *scale* ``a`` of a node is a float64 vector over the channels of its
output (features of a vector): the folded network carries x~ = x / a where
the clip-ANN carries x (a = 0: the folded value is 0, used for dead channels).

The rules are the op classes' ``scale_forward`` / ``scale_backward`` traits
(compiler/ir/ops); ``forward(node, graph, a_in)`` gives the output scale of an op that commutes
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

from typing import Optional

import numpy as np

from snnc.compiler.ir import Graph, Node


def commutes(node: Node) -> bool:
    """Whether the op passes a per-channel scale through (it has a ``scale_forward`` rule)."""
    return node.op.has("scale_forward")


def _shapes(node: Node, graph: Graph) -> list:
    return [graph.node(i).shape for i in node.inputs]


def forward(node: Node, graph: Graph, a_in: list) -> Optional[np.ndarray]:
    return node.op.scale_forward(a_in, _shapes(node, graph), node.shape)


def backward(node: Node, graph: Graph, d: Optional[np.ndarray]) -> list:
    """Per-input wished scale for output scale ``d`` (commuting ops only; others: no wish)."""
    if d is None or not commutes(node):
        return [None] * len(node.inputs)
    return node.op.scale_backward(d, _shapes(node, graph), node.shape)
