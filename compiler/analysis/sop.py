"""Exact synaptic-operation counting: per-neuron fan-out maps (algorithms.md section 7).

A spike costs one synaptic operation per synapse it drives. For every spiking
layer (``IFNeuron`` node) :func:`fanout_maps` returns ``F`` of the layer's shape
with ``F[i]`` = number of synapses neuron ``i`` drives, so the SOPs of a step
are exactly ``sum_i s_i(t) * F[i]`` (a dot product with the spike mask).

``F`` is the transposed connectivity applied to all-ones: walking forward from
the neuron through structural ops until a synapse is reached. The rules are the
op classes' traits (compiler/ir/ops): a synapse's ``fanout``, a structural op's
``fanout_back``, a ``gain``:

* ``Conv2d``: ``F[c, y, x]`` = number of (output channel, output position)
  pairs whose receptive field covers ``(y, x)`` with a nonzero weight from
  ``c`` (padding borders, strides, dilation and groups included: taps that
  fall on padding are never driven by a spike);
* ``Linear``: ``F[k]`` = number of nonzero weights in column ``k``;
* ``ChannelAffine`` / ``BatchNorm`` (e.g. the residual skip gain, or a kept
  batch norm before a conv): a diagonal synapse, 1 where the channel's scale is
  nonzero, plus, on those channels, the synapses its graded output drives
  further on (``gain``: a neuron -> affine -> 3x3 conv spike costs 1 + the
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

import numpy as np

from snnc.compiler.errors import SimulationError
from snnc.compiler.ir import Graph, IFNeuron


def is_synapse(op) -> bool:
    """Spikes arriving at ``op`` end on its synapses (it has a ``fanout`` rule)."""
    return op.has("fanout")


def is_structural(op) -> bool:
    """``op`` routes spikes on to its readers (it has a ``fanout_back`` rule)."""
    return op.has("fanout_back")


def fanout_maps(graph: Graph) -> dict[str, np.ndarray]:
    """Exact fan-out F (float64, the node's per-sample shape) of every IFNeuron node.

    A structural consumer (pool, reshape, concat, ...) passes on the fan-out of its own readers, and
    a gain adds the fan-out of its graded output, so the maps are filled for the
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
            if is_structural(c.op):
                stack.append((c.name, graded))
            elif c.op.gain:
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
            if src != node.name or (graded and isinstance(c.op, IFNeuron)):
                continue
            if is_synapse(c.op):
                own = c.op.fanout(node.shape, c.shape)
                total += own + (own * fan[c.name, True] if c.op.gain else 0.0)
            elif is_structural(c.op):
                total += c.op.fanout_back(fan[c.name, graded], shapes, c.shape, k)
            else:
                raise SimulationError(f"cannot count synaptic operations of spikes from {node.name!r} "
                                      f"through node {c.name!r} ({c.type}): no fan-out rule")
    return total
