"""A layer's segment: the ops between a neuron layer (or the readout) and the sources it reads.

A *layer* is an ``IFNeuron`` node or the readout accumulator (the graph's first
output); its *sources* are the IFNeuron / Input nodes it reads; its *segment*
the synaptic ops and weightless plumbing in between (``snnc.compiler.analysis.resources``).
"""
from __future__ import annotations

from snnc.compiler.hardware.synapses import has_synapses
from snnc.compiler.ir import Graph, IFNeuron, Input


def layer_nodes(graph: Graph) -> list[str]:
    """Names of the layers: every IFNeuron, then the readout (first output) if it is not one."""
    names = [n.name for n in graph.of_type(IFNeuron)]
    if graph.outputs and graph.outputs[0] not in names and graph.outputs[0] not in [i.name for i in graph.inputs]:
        names.append(graph.outputs[0])
    return names


def segment_starts(graph: Graph, name: str) -> tuple[str, ...]:
    node = graph.node(name)
    return node.inputs if isinstance(node.op, IFNeuron) else (name,)


def _is_source(node) -> bool:
    return isinstance(node.op, (IFNeuron, Input))


def reach(graph: Graph, starts) -> tuple[list[str], list[str]]:
    """Walk back from ``starts`` through weightless ops: (sources reached, synaptic ops reached)."""
    sources, synaptic, seen, stack = [], [], set(), list(starts)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if _is_source(node):
            sources.append(name)
        elif has_synapses(node.op):
            synaptic.append(name)
        else:
            stack.extend(node.inputs)
    return sources, synaptic


def segment_ops(graph: Graph, starts) -> list[str]:
    """All non-source nodes between ``starts`` and the sources, in topological order."""
    seen, stack = set(), list(starts)
    while stack:
        name = stack.pop()
        if name in seen or _is_source(graph.node(name)):
            continue
        seen.add(name)
        stack.extend(graph.node(name).inputs)
    return sorted(seen, key=graph.position)
