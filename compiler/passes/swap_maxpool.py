"""Pre-neuron max pooling: rewrite  act -> MaxPool  as  MaxPool -> act  (algorithms.md section 4).

For a monotone non-decreasing activation f (ReLU, clip(., 0, a)) and any
window W (every window of an ONNX pool holds at least one real element)::

    max_{i in W} f(z_i) = f(max_{i in W} z_i)

so the rewrite preserves the ANN exactly (the paper's Theorem 2). In the SNN
the neuron then sits after the pool and is calibrated on the pooled
pre-activation. The pool keeps its name, the activation keeps its name and
now reads the pool; readers of the pool read the activation.

Not rewritten (and reported): an activation with other readers besides the
pool (the neuron layer must stay before the fork), or one that is a graph
output. Such a pool stays after the neurons and pools spike trains; the
``pool_modes`` pass gives it the cumulative mode.
"""
from __future__ import annotations

from snnc.compiler.ir import Clip, Graph, MaxPool2d, ReLU
from snnc.compiler.passes.base import PassResult, sole_consumer, spec_of

ACTIVATIONS = (ReLU, Clip)


def swap_maxpool(graph: Graph) -> PassResult:
    pairs, changes = {}, []
    for n in graph.of_type(MaxPool2d):
        act = graph.node(n.inputs[0])
        if not isinstance(act.op, ACTIVATIONS):
            continue
        if sole_consumer(graph, act.name) is None:
            readers = [u.name for u in graph.consumers(act.name)]
            changes.append(f"MaxPool2d {n.name!r} kept after {act.type} {act.name!r}: the activation also "
                           f"feeds {readers} or is a graph output")
            continue
        pairs[act.name] = n
    if not pairs:
        return PassResult(graph, changes)
    pools = {p.name: a for a, p in pairs.items()}
    spec = []
    for name, op, ins in spec_of(graph):
        if name in pairs:
            pool = pairs[name]
            spec += [(pool.name, pool.op, ins), (name, op, (pool.name,))]
            changes.append(f"moved MaxPool2d {pool.name!r} before {op.type} {name!r}")
        elif name in pools:
            continue
        else:
            spec.append((name, op, tuple(pools.get(i, i) for i in ins)))
    outputs = [pools.get(o, o) for o in graph.outputs]
    return PassResult(Graph.build(spec, outputs, graph.meta), changes)
