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


from snnc.compiler.ir import Graph, IFNeuron, static_nodes



def weight_of(node):
    """The weights of a synapse node (the op's ``weight_field`` trait; None for other ops)."""
    field = node.op.weight_field
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
    """{node: the IFNeuron or readout output that finally integrates its current} (a
    SigmaDeltaNeuron, an IFNeuron subclass, integrates its inputs in its sigma stage too)."""
    readout = graph.outputs[0]
    sink: dict[str, str] = {}
    for n in reversed(graph.nodes):
        if isinstance(n.op, IFNeuron) or n.name == readout:
            sink[n.name] = n.name
            continue
        for c in graph.consumers(n.name):
            if isinstance(c.op, IFNeuron):
                sink[n.name] = c.name
                break
            if c.op.current_path and c.name in sink:
                sink[n.name] = sink[c.name]
                break
    return sink


def host_nodes(graph: Graph, stock: bool = False) -> set[str]:
    """What the host computes: the direct-coded prefix, or (stock) only the graph inputs."""
    return {n.name for n in graph.inputs} if stock else host_prefix(graph)


def _producer(graph: Graph, name: str):
    """The node behind ``name`` once Flatten / Identity are looked through."""
    node = graph.node(name)
    while node.op.virtual:
        node = graph.node(node.inputs[0])
    return node


def graded_synapses(graph: Graph) -> set[str]:
    """Synapses that read a graph input directly (through Flatten / Identity only)."""
    return {n.name for n in graph if n.op.weight_field and _producer(graph, n.inputs[0]).type == "Input"}


def branch_delays(graph: Graph, host: set[str]) -> dict[str, tuple[int, str]]:
    """{synapse: (extra steps, Add)} aligning every branch of an Add with its longest one.

    Depth: host nodes 0, each node one step (its ``latency`` trait) more than its input,
    others the largest depth of their inputs (as ``lower`` counts it). A shorter
    branch must end in a synapse (looked through Flatten / Identity), read by
    nothing else, that can carry the delay; otherwise the branch is returned as (k, Add) under its own
    name with a negative k, for the caller to refuse.
    """
    depth: dict[str, int] = {}
    out: dict[str, tuple[int, str]] = {}
    for n in graph:
        d = max((depth[i] for i in n.inputs), default=0)
        depth[n.name] = 0 if n.name in host else d + n.op.latency
        if n.type != "Add":
            continue
        for i in n.inputs:
            k = d - depth[i]
            if k > 0:
                src = _producer(graph, i)
                ok = src.op.weight_field is not None and src.name not in host and len(graph.consumers(src.name)) == 1
                out[src.name] = (k, n.name) if ok else (-k, n.name)
    return out
