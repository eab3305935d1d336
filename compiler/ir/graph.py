"""Graph of named nodes in topological order.

A :class:`Graph` is immutable: passes build new graphs (``Graph.build`` infers
and checks every shape). ``verify`` re-derives every output shape from the
node's op and inputs and names both ends of any mismatch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Optional, Sequence


from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops import IFNeuron, Input, Op, Shape


@dataclass(frozen=True, eq=False)
class Node:
    """One op application: ``name = op(*inputs)`` with per-sample output ``shape``."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    shape: Shape

    @property
    def type(self) -> str:
        return self.op.type


@dataclass(frozen=True, eq=False)
class Graph:
    """Nodes in topological order, named outputs and free-form JSON metadata."""

    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    meta: Mapping = field(default_factory=dict)

    # -- construction -----------------------------------------------------
    @staticmethod
    def build(spec: Iterable[tuple[str, Op, Sequence[str]]], outputs: Sequence[str],
              meta: Optional[Mapping] = None) -> "Graph":
        """Build from ``(name, op, inputs)`` triples in topological order, inferring shapes."""
        shapes: dict[str, Shape] = {}
        nodes = []
        for name, op, inputs in spec:
            shape = _infer(name, op, tuple(inputs), shapes)
            shapes[name] = shape
            nodes.append(Node(name, op, tuple(inputs), shape))
        g = Graph(tuple(nodes), tuple(outputs), dict(meta or {}))
        g.verify()
        return g

    def rebuild(self, spec=None, outputs=None, meta=None) -> "Graph":
        """A new graph from (possibly changed) triples; defaults keep this graph's parts."""
        if spec is None:
            spec = [(n.name, n.op, n.inputs) for n in self.nodes]
        return Graph.build(spec, self.outputs if outputs is None else outputs,
                           self.meta if meta is None else meta)

    def with_meta(self, **items) -> "Graph":
        return replace(self, meta={**self.meta, **items})

    # -- queries ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @property
    def _index(self) -> dict[str, Node]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_idx", idx)
        return idx

    def node(self, name: str) -> Node:
        try:
            return self._index[name]
        except KeyError:
            raise GraphError(f"no node named {name!r} in the graph") from None

    @property
    def inputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if isinstance(n.op, Input))

    def consumers(self, name: str) -> list[Node]:
        """Nodes reading ``name``, in topological order (an index built once per graph: O(1) per call)."""
        users = self.__dict__.get("_users")
        if users is None:
            users = {}
            for n in self.nodes:
                for src in dict.fromkeys(n.inputs):
                    users.setdefault(src, []).append(n)
            object.__setattr__(self, "_users", users)
        return list(users.get(name, ()))

    def position(self, name: str) -> int:
        """Topological index of a node (sorting a subset by it costs O(k log k), not a scan of the graph)."""
        pos = self.__dict__.get("_pos")
        if pos is None:
            pos = {n.name: i for i, n in enumerate(self.nodes)}
            object.__setattr__(self, "_pos", pos)
        return pos[name]

    def of_type(self, *types: type) -> list[Node]:
        return [n for n in self.nodes if isinstance(n.op, types)]

    def macs(self) -> int:
        return sum(node_macs(self, n) for n in self.nodes)

    def param_count(self) -> int:
        return sum(n.op.param_count() for n in self.nodes)

    # -- checks -----------------------------------------------------------
    def verify(self) -> "Graph":
        """Check names, topological order, arity and every shape; raise GraphError naming both ends."""
        seen: dict[str, Shape] = {}
        for n in self.nodes:
            if n.name in seen:
                raise GraphError(f"duplicate node name {n.name!r}")
            shape = _infer(n.name, n.op, n.inputs, seen)
            if tuple(shape) != tuple(n.shape):
                raise GraphError(f"type mismatch: node {n.name!r} ({n.type}) records output shape "
                                 f"{n.shape} but its inputs {list(n.inputs)} give {shape}")
            seen[n.name] = tuple(n.shape)
        for o in self.outputs:
            if o not in seen:
                raise GraphError(f"graph output {o!r} is not a node")
        if not self.inputs:
            raise GraphError("graph has no Input node")
        return self

    # -- display ----------------------------------------------------------
    def dump(self) -> str:
        """Readable text form, one node per line."""
        lines = []
        for n in self.nodes:
            args = ", ".join(n.inputs)
            desc = n.op.describe()
            lines.append(f"%{n.name}: {list(n.shape)} = {n.type}({args}){'  {' + desc + '}' if desc else ''}")
        lines.append("return " + ", ".join("%" + o for o in self.outputs))
        return "\n".join(lines)

    __str__ = dump


def static_nodes(graph: Graph) -> set[str]:
    """Nodes whose value is constant over time steps under direct input coding: the Input and every
    non-neuron op all of whose inputs are static (the dense prefix the host or the first layer computes)."""
    static: set[str] = set()
    for n in graph.nodes:
        if isinstance(n.op, Input) or (not isinstance(n.op, IFNeuron) and n.inputs and all(i in static for i in n.inputs)):
            static.add(n.name)
    return static


def node_macs(graph: Graph, node: Node) -> int:
    shapes = [graph.node(i).shape for i in node.inputs]
    return node.op.macs(shapes, node.shape)


def _infer(name: str, op: Op, inputs: tuple[str, ...], shapes: Mapping[str, Shape]) -> Shape:
    arity = type(op).arity
    if arity is not None and len(inputs) != arity:
        raise GraphError(f"node {name!r} ({op.type}) takes {arity} input(s), got {len(inputs)}: {list(inputs)}")
    if arity is None and not inputs:
        raise GraphError(f"node {name!r} ({op.type}) needs at least one input")
    for i in inputs:
        if i not in shapes:
            raise GraphError(f"node {name!r} ({op.type}) reads {i!r}, which is not defined before it")
    try:
        return tuple(int(d) for d in op.infer([shapes[i] for i in inputs]))
    except GraphError as e:
        srcs = ", ".join(f"{i} {shapes[i]}" for i in inputs)
        raise GraphError(f"type mismatch: {srcs} -> node {name!r}: {e}") from None
