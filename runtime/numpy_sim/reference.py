"""Naive step-by-step IF simulator: the test oracle and the benchmark's baseline.

It evaluates the whole graph once per time step, node by node, with no
time batching and no reuse of time-constant layers, straight from the spec
(algorithms.md sections 1, 4, 6)::

    for t in 1..T:
        x_0(t) = x                                   (direct coding)
        every non-neuron op on step t's inputs        (bias every step)
        IFNeuron: v += I(t); s = v >= theta; v -= s * theta (or v *= 1 - s); out = s * theta
        MaxPool2d cumulative: C += I(t); J(t) = pool(C) - pool_prev; pool_prev = pool(C)

Use it only to check the fast simulator; it is T times slower by design.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph, IFNeuron, Input, MaxPool2d
from snnc.compiler.ir.ops.geometry import channel_view


def step_by_step(graph: Graph, x: np.ndarray, T: int):
    """Return (spikes {layer: (T, N, *shape) bool}, output trace (T, N, *out_shape) float32)."""
    x = np.asarray(x, np.float32)
    n = x.shape[0]
    v, csum, mprev = {}, {}, {}
    for node in graph.nodes:
        if isinstance(node.op, IFNeuron):
            v[node.name] = np.broadcast_to(channel_view(np.asarray(node.op.v_init, np.float32), len(node.shape) + 1),
                                           (n,) + node.shape).astype(np.float32)
        elif isinstance(node.op, MaxPool2d) and node.op.mode == "cumulative":
            csum[node.name] = np.zeros((n,) + graph.node(node.inputs[0]).shape, np.float32)
            mprev[node.name] = np.zeros((n,) + node.shape, np.float32)
    spikes = {k: np.zeros((T, n) + graph.node(k).shape, bool) for k in v}
    trace = np.zeros((T, n) + graph.node(graph.outputs[0]).shape, np.float32)
    for t in range(T):
        vals = {}
        for node in graph.nodes:
            ins = [vals[s] for s in node.inputs]
            op = node.op
            if isinstance(op, Input):
                vals[node.name] = x
            elif isinstance(op, IFNeuron):
                theta = channel_view(np.asarray(op.threshold, np.float32), ins[0].ndim)
                m = v[node.name] + ins[0]
                s = m >= theta
                m = m - s * theta if op.reset == "subtract" else m * ~s
                v[node.name] = m.astype(np.float32)
                spikes[node.name][t] = s
                vals[node.name] = (s * theta).astype(np.float32)
            elif node.name in csum:
                csum[node.name] = csum[node.name] + ins[0]
                m = apply(op, csum[node.name])
                vals[node.name] = m - mprev[node.name]
                mprev[node.name] = m
            else:
                vals[node.name] = apply(op, *ins)
        trace[t] = vals[graph.outputs[0]]
    return spikes, trace
