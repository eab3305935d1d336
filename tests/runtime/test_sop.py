"""Exact SOP counts against brute force (explicit loops over spikes and synapses) and the paper shortcut."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.ir import (
    Add, AvgPool2d, ChannelAffine, ChannelPermute, ChannelSlice, Concat, Conv2d, Flatten, GlobalAvgPool2d, Graph,
    IFNeuron, Input, Linear, MaxPool2d, Pad, Reshape, node_macs,
)
from snnc.runtime.numpy_sim import simulate
from snnc.runtime.numpy_sim.reference import step_by_step


# ---- brute force: walk forward from the spiking layer with explicit loops ----------------------

def _windows(op, h, w, oh, ow):
    """Yield (oy, ox, y, x, i, j) for every tap of every window that lands inside the input."""
    kh, kw = op.kernel if hasattr(op, "kernel") else op.weight.shape[2:]
    dh, dw = getattr(op, "dilation", (1, 1))
    for oy in range(oh):
        for ox in range(ow):
            for i in range(kh):
                for j in range(kw):
                    y = oy * op.stride[0] - op.padding[0] + i * dh
                    x = ox * op.stride[1] - op.padding[1] + j * dw
                    if 0 <= y < h and 0 <= x < w:
                        yield oy, ox, y, x, i, j


def brute_conv(op, m, out_shape):
    """Synapses driven: loop over output channels, positions and taps; m[c, y, x] = spikes (path count)."""
    o_all, ig = op.weight.shape[:2]
    og = o_all // op.groups
    _, h, w = m.shape
    total = 0
    for o in range(o_all):
        for oy, ox, y, x, i, j in _windows(op, h, w, *out_shape[1:]):
            for ci in range(ig):
                c = (o // og) * ig + ci
                if op.weight[o, ci, i, j] != 0:
                    total += m[c, y, x]
    return total


def brute_linear(op, m, out_shape):
    return sum(m[k] for o in range(op.weight.shape[0]) for k in range(op.weight.shape[1]) if op.weight[o, k] != 0)


def brute_pool(op, m, out_shape):
    out = np.zeros(out_shape, np.int64)
    for c in range(m.shape[0]):
        for oy, ox, y, x, _, _ in _windows(op, m.shape[1], m.shape[2], *out_shape[1:]):
            out[c, oy, ox] += m[c, y, x]
    return out


TERMINAL = {
    "Conv2d": brute_conv,
    "Linear": brute_linear,
    "ChannelAffine": lambda op, m, s: sum(m[c].sum() for c in range(m.shape[0]) if np.broadcast_to(op.scale, (m.shape[0],))[c] != 0),
    "IFNeuron": lambda op, m, s: m.sum(),
}
FORWARD = {
    "Flatten": lambda op, ms, s: ms[0].reshape(s),
    "Add": lambda op, ms, s: sum(ms),
    "Concat": lambda op, ms, s: np.concatenate(ms),
    "ChannelPermute": lambda op, ms, s: ms[0][op.perm],
    "AvgPool2d": lambda op, ms, s: brute_pool(op, ms[0], s),
    "MaxPool2d": lambda op, ms, s: brute_pool(op, ms[0], s),
    "GlobalAvgPool2d": lambda op, ms, s: ms[0].sum(axis=(1, 2), keepdims=True),
    "Reshape": lambda op, ms, s: ms[0].reshape(s),
    "ChannelSlice": lambda op, ms, s: ms[0][op.start:op.stop],
    "Pad": lambda op, ms, s: np.pad(ms[0], ((0, 0), (op.pads[0], op.pads[2]), (op.pads[1], op.pads[3]))),
}


def _gain(op, m):
    """A gain's graded output: the path counts of its input on the channels whose scale is nonzero."""
    nz = np.broadcast_to(op.scale != 0, (m.shape[0],)).reshape((-1,) + (1,) * (m.ndim - 1))
    return m * nz


def brute_sop(graph: Graph, layer: str, mask: np.ndarray) -> int:
    """Path counts forward from the spiking layer, kept apart as spikes and as the graded output of a gain
    (ChannelAffine): a synapse counts both, a neuron only spikes (a gain's synapse was already counted)."""
    zero = lambda i: np.zeros(graph.node(i).shape, np.int64)  # noqa: E731
    counts, total = {layer: (mask.astype(np.int64), zero(layer))}, 0
    for node in graph.nodes:
        if node.name == layer or not any(i in counts for i in node.inputs):
            continue
        ins = [counts.get(i, (zero(i), zero(i))) for i in node.inputs]
        if node.type == "IFNeuron":
            total += sum(TERMINAL["IFNeuron"](node.op, s, node.shape) for s, _ in ins)
        elif node.type in TERMINAL:
            total += sum(TERMINAL[node.type](node.op, s + g, node.shape) for s, g in ins)
            if node.type == "ChannelAffine":
                counts[node.name] = (zero(node.name), _gain(node.op, ins[0][0] + ins[0][1]))
        else:
            counts[node.name] = tuple(FORWARD[node.type](node.op, [c[k] for c in ins], node.shape) for k in (0, 1))
    return int(total)


# ---- graphs ------------------------------------------------------------------------------------

def _w(rng, shape, zeros=0.3):
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < zeros] = 0.0
    return w


def _neuron(c):
    return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))


def consumer_cases(rng):
    """name -> list of (name, op, inputs) after the spiking layer 's' (4, 7, 7)."""
    return {
        "conv3x3_pad1": [("y", Conv2d(_w(rng, (5, 4, 3, 3)), None, padding=(1, 1, 1, 1)), ["s"])],
        "conv_stride_dil_groups_asym_pad": [
            ("y", Conv2d(_w(rng, (6, 2, 3, 3)), None, stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2),
                         groups=2), ["s"])],
        "depthwise_1x1_stride2": [("y", Conv2d(_w(rng, (8, 1, 1, 1)), None, stride=(2, 2), groups=4), ["s"])],
        "conv5x5_stride3_pad2": [("y", Conv2d(_w(rng, (3, 4, 5, 5)), None, stride=(3, 3), padding=(2, 2, 2, 2)), ["s"])],
        "avgpool_then_conv": [("p", AvgPool2d(), ["s"]),
                              ("y", Conv2d(_w(rng, (5, 4, 3, 3)), None, padding=(1, 1, 1, 1)), ["p"])],
        "overlapping_ceil_maxpool_flatten_linear": [
            ("p", MaxPool2d((3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=True), ["s"]), ("f", Flatten(), ["p"]),
            ("y", Linear(_w(rng, (7, 64)), None), ["f"])],
        "concat_then_conv": [("cat", Concat(), ["s", "c0"]),
                             ("y", Conv2d(_w(rng, (5, 8, 3, 3)), None, padding=(1, 1, 1, 1)), ["cat"])],
        "residual_gain_and_identity": [
            ("y", Conv2d(_w(rng, (4, 4, 1, 1)), None), ["s"]),
            ("g", ChannelAffine(np.array([0.5, 0.0, 2.0, 1.0], np.float32), np.zeros(4, np.float32)), ["s"]),
            ("a", Add(), ["y", "g"]), ("n2", _neuron(4), ["a"]),
            ("a2", Add(), ["y", "s"]), ("n3", _neuron(4), ["a2"])],
        "affine_then_padded_conv": [   # issue 13's example: a kept batch-norm gain before a conv
            ("g", ChannelAffine(np.array([0.5, 0.0, 2.0, 1.0], np.float32), np.zeros(4, np.float32)), ["s"]),
            ("y", Conv2d(_w(rng, (5, 4, 3, 3)), None, padding=(1, 1, 1, 1)), ["g"])],
        "affine_pool_flatten_linear": [
            ("g", ChannelAffine(np.array([1.5], np.float32), np.zeros(1, np.float32)), ["s"]),
            ("p", AvgPool2d(), ["g"]), ("f", Flatten(), ["p"]), ("y", Linear(_w(rng, (6, 36)), None), ["f"])],
        "affine_concat_conv_and_neuron": [
            ("g", ChannelAffine(np.array([0.5, 1.0, 0.0, 2.0], np.float32), np.zeros(4, np.float32)), ["s"]),
            ("cat", Concat(), ["g", "c0"]), ("y", Conv2d(_w(rng, (5, 8, 3, 3)), None, padding=(1, 1, 1, 1)), ["cat"]),
            ("a", Add(), ["g", "s"]), ("n2", _neuron(4), ["a"])],
        "slice_pad_conv_and_reshape_linear": [
            ("sl", ChannelSlice(1, 3), ["s"]), ("pd", Pad((1, 0, 0, 2)), ["sl"]),
            ("y", Conv2d(_w(rng, (3, 2, 3, 3)), None, stride=(2, 1)), ["pd"]),
            ("r", Reshape((14, 14)), ["s"]), ("f", Flatten(), ["r"]), ("y2", Linear(_w(rng, (3, 196)), None), ["f"])],
        "affine_overlapping_avgpool_concat_flatten_linear": [
            ("g", ChannelAffine(np.array([0.5, 0.0, 2.0, 1.0], np.float32), np.zeros(4, np.float32)), ["s"]),
            ("p", AvgPool2d((3, 3), (1, 1), (1, 1, 1, 1)), ["g"]), ("cat", Concat(), ["p", "s"]),
            ("f", Flatten(), ["cat"]), ("y", Linear(_w(rng, (5, 392)), None), ["f"])],
        "two_consumers_gap_permute_output": [
            ("y", Conv2d(_w(rng, (5, 4, 3, 3)), None, stride=(2, 2)), ["s"]),
            ("gp", GlobalAvgPool2d(), ["s"]), ("f", Flatten(), ["gp"]),
            ("l", Linear(_w(rng, (3, 4)), None), ["f"]),
            ("pm", ChannelPermute(np.array([2, 0, 3, 1])), ["s"]),
            ("y2", Conv2d(_w(rng, (2, 4, 2, 2)), None), ["pm"])],
    }


def build(rng, case):
    spec = [("x", Input((3, 7, 7)), []),
            ("c0", Conv2d(_w(rng, (4, 3, 3, 3), 0), None, padding=(1, 1, 1, 1)), ["x"]),
            ("s", _neuron(4), ["c0"])] + consumer_cases(rng)[case]
    return Graph.build(spec, [spec[-1][0], "s"])   # 's' is also an output: no extra synapses


@pytest.mark.parametrize("case", list(consumer_cases(np.random.default_rng(0))))
def test_fanout_equals_brute_force(case):
    rng = np.random.default_rng(11)
    g = build(rng, case)
    fan = fanout_maps(g)["s"]
    for density in (0.1, 0.5, 1.0):
        mask = rng.random((4, 7, 7)) < density
        assert float((mask * fan).sum()) == brute_sop(g, "s", mask), density


def test_simulated_sop_per_step_equals_brute_force():
    rng = np.random.default_rng(1)
    g = build(rng, "residual_gain_and_identity")
    spec = [(n.name, n.op, n.inputs) for n in g.nodes] + [
        ("p", AvgPool2d(), ["n3"]), ("f", Flatten(), ["p"]), ("l", Linear(_w(rng, (3, 36)), None), ["f"])]
    g = Graph.build(spec, ["l"])
    x = rng.random((3, 3, 7, 7)).astype(np.float32)
    T = 5
    r = simulate(g, x, T=T, record=("spikes",), show_progress=False)
    spikes, _ = step_by_step(g, x, T)
    for layer in r.activity.layers:
        assert sum(layer.spikes_per_step) > 0
        brute = [sum(brute_sop(g, layer.name, spikes[layer.name][t, k]) for k in range(3)) / 3 for t in range(T)]
        np.testing.assert_allclose(layer.sop_per_step, brute, rtol=0, atol=1e-9, err_msg=layer.name)


@pytest.mark.parametrize("consumer", [
    Linear(np.ones((10, 4 * 6 * 6), np.float32), None),
    Conv2d(np.ones((5, 4, 1, 1), np.float32), None),
    Conv2d(np.ones((5, 4, 2, 2), np.float32), None, stride=(2, 2)),
])
def test_paper_shortcut_agrees_on_interior_only_layers(consumer):
    """SOP(t) = rate(t) * consumer MACs when every neuron has the same fan-out (no border effects)."""
    rng = np.random.default_rng(2)
    head = [("f", Flatten(), ["s"])] if isinstance(consumer, Linear) else []
    spec = [("x", Input((3, 6, 6)), []), ("c0", Conv2d(_w(rng, (4, 3, 3, 3), 0), None, padding=(1, 1, 1, 1)), ["x"]),
            ("s", _neuron(4), ["c0"])] + head + [("y", consumer, [head[0][0] if head else "s"])]
    g = Graph.build(spec, ["y"])
    r = simulate(g, rng.random((4, 3, 6, 6)).astype(np.float32), T=8, show_progress=False)
    layer = r.activity.layers[0]
    macs = node_macs(g, g.node("y"))
    shortcut = np.array(layer.spikes_per_step) / layer.neurons * macs
    assert layer.firing_rate > 0.05
    np.testing.assert_allclose(layer.sop_per_step, shortcut, rtol=1e-12)


def test_paper_shortcut_overcounts_padded_borders():
    """A padded 3x3 conv on 8x8: border neurons drive fewer synapses, so at uniform rates the shortcut
    counts 9/(484/64) = 1.19x the exact SOPs."""
    g = Graph.build([("x", Input((1, 8, 8)), []), ("s", _neuron(1), ["x"]),
                     ("y", Conv2d(np.ones((1, 1, 3, 3), np.float32), None, padding=(1, 1, 1, 1)), ["s"])], ["y"])
    fan = fanout_maps(g)["s"]
    assert fan.sum() == 484 and node_macs(g, g.node("y")) == 576


from hypothesis import assume, given, settings, strategies as st   # noqa: E402


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2), g=st.sampled_from([1, 2, 4]),
       pads=st.tuples(*[st.integers(0, 2)] * 4), hw=st.tuples(st.integers(5, 9), st.integers(5, 9)),
       seed=st.integers(0, 2 ** 16))
def test_conv_fanout_property(k, s, d, g, pads, hw, seed):
    """Any conv geometry: sum_i s_i F_i equals the brute-force synapse count."""
    rng = np.random.default_rng(seed)
    assume(hw[0] + pads[0] + pads[2] - d * (k - 1) - 1 >= 0 and hw[1] + pads[1] + pads[3] - d * (k - 1) - 1 >= 0)
    g_ = Graph.build([("x", Input((4,) + hw), []), ("s", _neuron(4), ["x"]),
                      ("y", Conv2d(_w(rng, (4, 4 // g, k, k)), None, stride=(s, s), padding=pads, dilation=(d, d),
                                   groups=g), ["s"])], ["y"])
    mask = rng.random((4,) + hw) < 0.4
    assert float((mask * fanout_maps(g_)["s"]).sum()) == brute_sop(g_, "s", mask)
