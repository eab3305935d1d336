"""Remove Identity nodes (ONNX Identity, Dropout at inference): y = x.

Every reader of an Identity node reads its input instead; a graph output that
was an Identity becomes its input's name. Always exact.
"""
from __future__ import annotations

from snnc.compiler.ir import Graph, Identity
from snnc.compiler.passes.base import PassResult, rebuild


def remove_identity(graph: Graph) -> PassResult:
    rename, spec, changes = {}, [], []
    for n in graph.nodes:
        if isinstance(n.op, Identity):
            src = rename.get(n.inputs[0], n.inputs[0])
            rename[n.name] = src
            changes.append(f"removed Identity {n.name!r} (reads {src!r})")
        else:
            spec.append((n.name, n.op, n.inputs))
    # resolve chains of identities
    for k, v in list(rename.items()):
        while v in rename:
            v = rename[v]
        rename[k] = v
    if not rename:
        return PassResult(graph, [])
    return PassResult(rebuild(graph, spec, rename), changes)
