"""What every pass shares: the :class:`PassResult` contract and small graph-rewrite helpers.

A pass is a pure function ``pass_(graph, **options) -> PassResult``: it never
mutates its input (IR graphs are immutable) and lists in ``changes`` what it
rewrote *and* why it left alone a pattern a user would expect it to match
("not folded: ..."). ``info`` carries machine-readable by-products (e.g.
calibration statistics) for the compile report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir import Graph, Node, Op

Spec = list  # [(name, op, inputs)] in topological order


@dataclass(frozen=True)
class PassResult:
    graph: Graph
    changes: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def spec_of(graph: Graph) -> Spec:
    return [(n.name, n.op, tuple(n.inputs)) for n in graph.nodes]


def rewire(spec: Spec, mapping: Mapping[str, str]) -> Spec:
    """Make every node read ``mapping[src]`` instead of ``src``."""
    return [(name, op, tuple(mapping.get(i, i) for i in ins)) for name, op, ins in spec]


def rebuild(graph: Graph, spec: Spec, rename: Optional[Mapping[str, str]] = None) -> Graph:
    """Rebuild ``graph`` from ``spec``; ``rename`` redirects readers (and graph outputs) of removed nodes."""
    rename = dict(rename or {})
    spec = rewire(spec, rename)
    outputs = [rename.get(o, o) for o in graph.outputs]
    return Graph.build(spec, outputs, graph.meta)


def sole_consumer(graph: Graph, name: str) -> Optional[Node]:
    """The one node reading ``name``, if exactly one does and ``name`` is not a graph output."""
    users = graph.consumers(name)
    if len(users) != 1 or name in graph.outputs or users[0].inputs.count(name) != 1:
        return None
    return users[0]


def f32(a) -> np.ndarray:
    """A folded float64 parameter as float32; GraphError (not a RuntimeWarning) when it does not fit."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            out = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    except FloatingPointError:
        out = None
    if out is None or not np.all(np.isfinite(out)):
        peak = float(np.max(np.abs(np.nan_to_num(np.asarray(a, np.float64), nan=np.inf))))
        raise GraphError(f"folding gives a parameter of magnitude {peak:g}, beyond float32 (3.4e38); the "
                         f"model's weights or batch-norm statistics are out of range: check and re-export it")
    return out


def at_node(name: str, fn, *args):
    """``fn(*args)``, a GraphError from it prefixed with the node it concerns."""
    try:
        return fn(*args)
    except GraphError as e:
        raise GraphError(f"node {name!r}: {e}") from None


def unique_name(taken: Iterable[str], base: str) -> str:
    """``base`` or ``base_2``, ``base_3``, ... not in ``taken``; a set is probed, not copied (O(1) per call)."""
    if not isinstance(taken, (set, frozenset, dict)):
        taken = set(taken)
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def replace_op(op: Op, **changes) -> Op:
    from dataclasses import replace
    return replace(op, **changes)
