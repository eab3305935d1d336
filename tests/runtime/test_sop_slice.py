"""SOP fan-out through ChannelSlice: a spike drives synapses only through the channels a slice keeps.

Oracle (independent of ``sop.py``): push every single-spike basis vector of
the layer through the graph with the executor, synaptic weights replaced by
their nonzero indicators and biases dropped; the synapses a spike drives are
the sum of the terminal synaptic ops' outputs (each driven synapse adds 1).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.analysis.resources import count_layers
from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.execute import run
from snnc.compiler.ir import (ChannelPermute, ChannelSlice, Concat, Conv2d, Flatten, Graph, IFNeuron, Input,
                              Linear, MaxPool2d)
from snnc.compiler.passes.base import replace_op
from snnc.runtime.numpy_sim import simulate
from snnc.runtime.numpy_sim.reference import step_by_step

SHAPE = (6, 5, 5)


def _w(rng, shape, zeros=0.3):
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < zeros] = 0.0
    return w


def graph(rng) -> Graph:
    n = SHAPE[0]
    spec = [("x", Input((3, 5, 5)), ()),
            ("c0", Conv2d(_w(rng, (n, 3, 3, 3), 0), None, padding=(1, 1, 1, 1)), ("x",)),
            ("s", IFNeuron(np.ones(n, np.float32), np.full(n, 0.5, np.float32)), ("c0",)),
            ("a", ChannelSlice(0, 2), ("s",)),
            ("ya", Conv2d(_w(rng, (4, 2, 3, 3)), None, padding=(1, 1, 1, 1)), ("a",)),
            ("pm", ChannelPermute(np.array([3, 5, 0, 2, 1, 4])), ("s",)),
            ("b", ChannelSlice(1, 4), ("pm",)),
            ("cat", Concat(), ("b", "a")),
            ("p", MaxPool2d((2, 2), (1, 1)), ("cat",)),
            ("yb", Conv2d(_w(rng, (3, 5, 2, 2)), None, stride=(2, 2)), ("p",)),
            ("f", Flatten(), ("s",)), ("fs", ChannelSlice(60, 110), ("f",)),
            ("yl", Linear(_w(rng, (7, 50)), None), ("fs",))]
    return Graph.build(spec, ["yl", "ya", "yb"])


def brute_fanout(g: Graph) -> np.ndarray:
    """F[i] = synapses driven by a spike of neuron i alone, by running the indicator network."""
    spec = []
    for n in g.nodes:
        op = n.op
        if n.type in ("Conv2d", "Linear"):
            op = replace_op(op, weight=(op.weight != 0).astype(np.float32), bias=None)
        spec.append((n.name, op, n.inputs))
    ind = Graph.build(spec, list(g.outputs))
    size = int(np.prod(SHAPE))
    basis = np.eye(size, dtype=np.float32).reshape((size,) + SHAPE)
    x = np.zeros((size, 3, 5, 5), np.float32)
    out = run(ind, x, hook=lambda name, v: basis if name == "s" else None)
    return sum(out[o].reshape(size, -1).sum(axis=1) for o in g.outputs).reshape(SHAPE)


def test_fanout_through_slices_equals_brute_force():
    g = graph(np.random.default_rng(5))
    fan = fanout_maps(g)["s"]
    np.testing.assert_array_equal(fan, brute_fanout(g))
    # s[4] is dropped by slice a (0..1) and, at permuted position 5, by slice b (1..3); only the
    # flatten slice (features 60..109) keeps its first 10 features (rows 0-1): the rest drive nothing
    assert np.all(fan[4].ravel()[10:] == 0) and np.all(fan[4].ravel()[:10] > 0)
    assert count_layers(g)[0].out_synapses == int(fan.sum())


def test_simulated_sops_through_slices():
    rng = np.random.default_rng(2)
    g = graph(rng)
    x = rng.random((3, 3, 5, 5)).astype(np.float32)
    T = 6
    r = simulate(g, x, T=T, record=("spikes",), show_progress=False)
    spikes, trace = step_by_step(g, x, T)
    fan = brute_fanout(g)
    (layer,) = r.activity.layers
    assert sum(layer.spikes_per_step) > 0
    brute = [float((spikes["s"][t] * fan).sum()) / 3 for t in range(T)]
    np.testing.assert_allclose(layer.sop_per_step, brute, rtol=0, atol=1e-9)
