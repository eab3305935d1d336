"""Which layers the resource estimate counts on the deployment plan's graph, and what a composed synapse stores.

The lowering stage (:func:`snnc.compiler.lower.make_plan`) composes every current
that meets another synapse or a Concat before a neuron into one synapse per
source (``x/source``, summed by an Add; :mod:`snnc.compiler.lower.linear`). Those
synapses, not the compiled graph's chain of ops, are what the hardware holds: a
1x1 conv after a residual Add becomes one dense synapse per source, a current read
by k neurons becomes k synapses, a Concat slice becomes a synapse on the slice.
The resource estimate therefore counts the layers that integrate a composed
current (:func:`composed_layers`) on the plan's graph, every other layer as before
on the compiled graph. A composed layer's synapses are those the plan sinks into
it (``plan.sinks``), host terms included as for the direct-coded first layer: a
host value it reads (DenseNet's max-pooled stem conv) is computed once and
counted in the layer that integrates it, not again in every reader, and it is
read as the host sends it (:func:`counted_graph`: an input of the value's own
shape), so the layer's input axons are that value's elements, not the image's.

What a composed synapse stores (:func:`stored`): like every synapse
(:mod:`snnc.compiler.hardware.synapses`), one weight per structural connection
(padding taps excluded, zero taps inside a kernel stored too), except that a
conv's (output channel, input channel) kernel whose composed weights are all
zero addresses nothing, like the absent channel pairs of a grouped conv: a
Concat slice placed on channels lo..hi of the neuron leaves zero rows elsewhere
(its synapse addresses only its slice, axon routing), an identity path becomes a
diagonal 1x1 map, a depthwise conv composed with a 1x1 map keeps its zero
blocks. A Linear drops its all-zero rows. Every channel pair of an ungrouped
conv holds the same taps, so with P live pairs of O x I::

    total' = total P / (O I),  fan_in' = fan_in max_o P_o / I,  fan_out' = fan_out max_i P_i / O

exactly (P_o: live pairs of output channel o, P_i: of input channel i).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.hardware.synapses import Conn
from snnc.compiler.ir import Graph, Input
from snnc.compiler.lower import NumberFormat, Plan, make_plan


def deployed(graph: Graph, weight_bits: Optional[int]) -> tuple[Plan, frozenset, Graph]:
    """(the plan the estimate reads: fixed point at ``weight_bits`` or floating point, its composed layers,
    the graph they are counted on: ``counted_graph``)."""
    plan = make_plan(graph, NumberFormat(True, int(weight_bits)) if weight_bits else NumberFormat())
    layers = composed_layers(plan)
    return plan, layers, counted_graph(plan, layers)


def counted_graph(plan: Plan, layers: frozenset) -> Graph:
    """The plan's graph with every host value a synapse of a composed layer reads (not a graph input) made an
    ``Input`` of its own shape: the value the host sends (``Plan.frontier``), read by the layer's input axons
    as sent, not traced back through the host's ops to the image."""
    g = plan.graph
    cut = {i for n in g if n.op.weight_field and plan.sinks.get(n.name) in layers for i in n.inputs
           if i in plan.host and not isinstance(g.node(i).op, Input)}
    if not cut:
        return g
    return Graph.build([(n.name, Input(n.shape), ()) if n.name in cut else (n.name, n.op, n.inputs) for n in g],
                       g.outputs)


def composed_layers(plan: Plan) -> frozenset:
    """The layers (IFNeuron / readout) whose integrated current the plan composed (``Plan.composed``)."""
    return frozenset(plan.sinks.get(x, x) for x in plan.composed)


def stored(op, conn: Conn) -> Conn:
    """``conn`` without the all-zero kernels of a conv (all-zero rows of a Linear) the composition left."""
    w = getattr(op, "weight", None)
    if w is None or np.ndim(w) < 2 or getattr(op, "groups", 1) != 1:
        return conn
    w = np.asarray(w)
    live = np.any(w.reshape(w.shape[0], w.shape[1], -1) != 0, axis=2) if w.ndim == 4 else \
        np.broadcast_to(np.any(w != 0, axis=1)[:, None], w.shape)
    o, i = live.shape
    if live.all():
        return conn
    return Conn(conn.total * int(live.sum()) // (o * i), conn.fan_in * int(live.sum(axis=1).max()) // i,
                conn.fan_out * int(live.sum(axis=0).max()) // o)
