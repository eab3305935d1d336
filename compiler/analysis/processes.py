"""The Lava processes a deployment runs, per layer, read from the plan (docs/lava.md, "Processes").

The Lava backend (``runtime/lava/lower.py``, custom processes: the default) builds,
walking the plan's graph once:

* one ``CurrentSource`` per host value the chip reads (``Plan.frontier``);
* one Conv / Dense per synapse off the host (an op whose ``latency`` trait is 1: the
  composed synapses one per source, an average pool that could not be fused);
* per neuron layer its neuron process and its ``SpikeCounter`` (the simulation's
  instrument), per max pool of currents one ``MaxPoolCurrent``, and the ``Readout``;
* where an Add meets branches of different pipeline depth (each synapse one step),
  one ``Delay`` per port of every shorter branch (a branch of k summed synapses has
  k ports: a composed current fed by k sources costs k delays, not one).

Each process counts in the layer that integrates its current (``Plan.sinks``).
The same walk over the compiled graph (its host prefix, no fusion, no composition)
gives what the network would need without the lowering's rewrites; the difference
is the extra processes composition costs (negative: fused pools save more).
"""
from __future__ import annotations

from snnc.compiler.ir import Add, Graph, IFNeuron
from snnc.compiler.lower import Plan
from snnc.compiler.lower.walk import current_sinks, host_frontier, host_nodes


def lava_processes(graph: Graph, host, frontier, sinks: dict, readout: str) -> dict[str, int]:
    """{layer (IFNeuron / readout): Lava processes built for it} on ``graph`` whose ``host`` nodes the host
    computes and ``frontier`` values it sends (one depth / port sweep in topological order)."""
    depth: dict[str, int] = {}
    ports: dict[str, int] = {}
    out: dict[str, int] = {}

    def count(name: str, k: int) -> None:
        layer = _layer_of(graph, sinks, name)
        out[layer] = out.get(layer, 0) + k

    for n in graph:
        if n.name in host:
            if n.name in frontier:
                depth[n.name], ports[n.name] = 0, 1
                count(n.name, 1)                                   # CurrentSource
            continue
        d = [depth[i] for i in n.inputs]
        if isinstance(n.op, Add):
            top = max(d)
            count(n.name, sum(ports[i] for i, di in zip(n.inputs, d) if di < top))   # Delays
            depth[n.name], ports[n.name] = top, sum(ports[i] for i in n.inputs)
        elif n.op.virtual:
            depth[n.name], ports[n.name] = d[0], ports[n.inputs[0]]
        else:   # a synapse (one step), a neuron and its counter, a max pool of currents
            depth[n.name], ports[n.name] = d[0] + n.op.latency, 1
            count(n.name, 2 if isinstance(n.op, IFNeuron) else 1)
    count(readout, 1)                                              # Readout
    return out


def _layer_of(graph: Graph, sinks: dict, name: str) -> str:
    """The layer integrating ``name``'s current (a current left uncomposed: the layer its readers feed)."""
    while name not in sinks and graph.consumers(name):
        name = graph.consumers(name)[0].name
    return sinks.get(name, name)


def deployed_processes(plan: Plan) -> dict[str, int]:
    """Per layer, the processes the Lava backend builds for ``plan``."""
    return lava_processes(plan.graph, plan.host, set(plan.frontier), plan.sinks, plan.readout)


def compiled_processes(plan: Plan) -> dict[str, int]:
    """Per layer, what the same walk gives on the compiled graph (no pool fused, no current composed)."""
    g = plan.source
    host = host_nodes(g, plan.fmt.stock)
    return lava_processes(g, host, set(host_frontier(g, host)), current_sinks(g), g.outputs[0])
