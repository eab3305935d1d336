"""Graph facts the lowering needs: the host prefix and who integrates each current.

* host prefix: nodes computed from the analog input before any IFNeuron. Under
  direct coding their values are constant over a sample, so the host computes
  them once per sample (``CurrentSource``); the first Conv/Dense runs on the host.
* ``current_sinks``: for every node carrying a current, the IFNeuron or readout
  that finally integrates it (its fixed-point scale decides the weights' scale).
* stock mode (only processes that ship with Lava) has no host current source: the
  host holds just the graph inputs (``host_nodes``), which enter the first
  synapses as graded spikes (``graded_synapses``); a residual branch shorter than
  its partner is aligned by building its synapse as a ``DelayDense``
  (``branch_delays``).
"""
from __future__ import annotations


from snnc.compiler.ir import Graph, static_nodes

PASS_THROUGH = {"Flatten", "Identity", "MaxPool2d", "Add", "AvgPool2d", "GlobalAvgPool2d"}
SYNAPSES = {"Conv2d", "Linear", "ChannelAffine"}
LATENCY = SYNAPSES | {"AvgPool2d", "GlobalAvgPool2d"}   # each lowers to one Conv / Dense: one step
ROUTING = {"Flatten", "Identity"}                        # virtual ports, no process
WEIGHT_FIELD = {"Conv2d": "weight", "Linear": "weight", "ChannelAffine": "scale"}


def weight_of(node):
    """The weights of a synapse node (None for other ops)."""
    field = WEIGHT_FIELD.get(node.type)
    return None if field is None else getattr(node.op, field)


def host_prefix(graph: Graph) -> set[str]:
    """Names of nodes that depend on the input only through non-neuron ops."""
    return static_nodes(graph)


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


def host_nodes(graph: Graph, stock: bool = False) -> set[str]:
    """What the host computes: the direct-coded prefix, or (stock) only the graph inputs."""
    return {n.name for n in graph.inputs} if stock else host_prefix(graph)


def _producer(graph: Graph, name: str):
    """The node behind ``name`` once Flatten / Identity are looked through."""
    node = graph.node(name)
    while node.type in ROUTING:
        node = graph.node(node.inputs[0])
    return node


def graded_synapses(graph: Graph) -> set[str]:
    """Synapses that read a graph input directly (through Flatten / Identity only)."""
    return {n.name for n in graph if n.type in SYNAPSES and _producer(graph, n.inputs[0]).type == "Input"}


def branch_delays(graph: Graph, host: set[str]) -> dict[str, tuple[int, str]]:
    """{synapse: (extra steps, Add)} aligning every branch of an Add with its longest one.

    Depth: host nodes 0, each node in ``LATENCY`` one step more than its input,
    others the largest depth of their inputs (as ``lower`` counts it). A shorter
    branch must end in a synapse (looked through Flatten / Identity), read by
    nothing else, that can carry the delay; otherwise the branch is returned as (k, Add) under its own
    name with a negative k, for the caller to refuse.
    """
    depth: dict[str, int] = {}
    out: dict[str, tuple[int, str]] = {}
    for n in graph:
        d = max((depth[i] for i in n.inputs), default=0)
        depth[n.name] = 0 if n.name in host else d + (n.type in LATENCY)
        if n.type != "Add":
            continue
        for i in n.inputs:
            k = d - depth[i]
            if k > 0:
                src = _producer(graph, i)
                ok = src.type in SYNAPSES and src.name not in host and len(graph.consumers(src.name)) == 1
                out[src.name] = (k, n.name) if ok else (-k, n.name)
    return out
