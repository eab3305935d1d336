"""Graph facts the Lava lowering needs: the host prefix and who integrates each current.

* host prefix: nodes computed from the analog input before any IFNeuron. Under
  direct coding their values are constant over a sample, so the host computes
  them once per sample (``CurrentSource``); the first Conv/Dense runs on the host.
* ``current_sinks``: for every node carrying a current, the IFNeuron or readout
  that finally integrates it (its fixed-point scale decides the weights' scale).
"""
from __future__ import annotations


from snnc.compiler.ir import Graph

PASS_THROUGH = {"Flatten", "Identity", "MaxPool2d", "Add", "AvgPool2d", "GlobalAvgPool2d"}
SYNAPSES = {"Conv2d", "Linear", "ChannelAffine"}


def host_prefix(graph: Graph) -> set[str]:
    """Names of nodes that depend on the input only through non-neuron ops."""
    host: set[str] = set()
    for n in graph:
        if n.type == "Input" or (n.type != "IFNeuron" and n.inputs and all(i in host for i in n.inputs)):
            host.add(n.name)
    return host


def host_frontier(graph: Graph, host: set[str]) -> list[str]:
    """Host nodes whose value is needed on the chip (read by a non-host node or a graph output)."""
    need = {i for n in graph if n.name not in host for i in n.inputs if i in host}
    need |= {o for o in graph.outputs if o in host}
    return [n.name for n in graph if n.name in need]


def current_sinks(graph: Graph) -> dict[str, str]:
    """{node: the IFNeuron or readout output that finally integrates its current}."""
    readout = graph.outputs[0]
    sink: dict[str, str] = {}
    for n in reversed(graph.nodes):
        if n.type == "IFNeuron" or n.name == readout:
            sink[n.name] = n.name
            continue
        for c in graph.consumers(n.name):
            if c.type == "IFNeuron":
                sink[n.name] = c.name
                break
            if c.type in PASS_THROUGH and c.name in sink:
                sink[n.name] = sink[c.name]
                break
    return sink
