"""Resource counting and core mapping, against hand counts and brute-force connectivity."""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from snnc.compiler.analysis.resources import (
    check_fit, count_layers, first_layer_macs, map_graph, summary, summary_table,
)
from snnc.compiler.errors import HardwareError
from snnc.compiler.execute import apply
from snnc.compiler.hardware.partition import input_axons
from snnc.compiler.ir import AvgPool2d, Conv2d, Flatten, Graph, IFNeuron, Input, Linear, MaxPool2d


def IF(c):
    return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))


def conv_graph(c_in, c_out, hw, k=3, stride=1, pad=1, dil=1, groups=1, seed=0):
    w = np.random.default_rng(seed).standard_normal((c_out, c_in // groups, k, k)).astype(np.float32)
    conv = Conv2d(w, None, (stride, stride), (pad, pad, pad, pad), (dil, dil), groups)
    g = Graph.build([("x", Input((c_in, hw, hw)), []), ("c", conv, ["x"]), ("n", IF(c_out), ["c"])], ["n"])
    return g, conv


def brute_connectivity(conv, in_shape):
    """Dense 0/1 matrix (inputs x outputs): one-hot inputs through the conv with all-ones weights."""
    ones = Conv2d(np.ones_like(conv.weight), None, conv.stride, conv.padding, conv.dilation, conv.groups)
    n = int(np.prod(in_shape))
    eye = np.eye(n, dtype=np.float32).reshape((n,) + tuple(in_shape))
    return apply(ones, eye).reshape(n, -1) != 0


def test_3x3_conv_with_padding_counted_by_hand():
    # 5x5 input, 3x3 kernel, pad 1, stride 1: border rows/cols see 2 taps, others 3 -> 2+3+3+3+2 = 13
    g, _ = conv_graph(2, 3, 5)
    (lay,) = count_layers(g, weight_bits=8)
    assert lay.neurons == 3 * 25
    assert lay.synapses == 3 * 2 * 13 * 13 == 1014
    assert lay.fan_in == 2 * 9
    assert lay.memory_bits == 1014 * 8
    assert lay.sources == {"x": 1014}
    assert first_layer_macs(g) == 3 * 25 * 2 * 9  # MACs count padding taps, synapses do not


@settings(max_examples=25, deadline=None)
@given(c_in=st.sampled_from([1, 2, 4]), c_out=st.sampled_from([2, 4]), hw=st.integers(3, 7), k=st.integers(1, 3),
       stride=st.integers(1, 2), pad=st.integers(0, 2), dil=st.integers(1, 2), grouped=st.booleans())
def test_conv_counts_equal_brute_force(c_in, c_out, hw, k, stride, pad, dil, grouped):
    groups = 2 if grouped and c_in % 2 == 0 and c_out % 2 == 0 else 1
    assume(hw + 2 * pad >= dil * (k - 1) + 1)
    g, conv = conv_graph(c_in, c_out, hw, k, stride, pad, dil, groups)
    conn = brute_connectivity(conv, (c_in, hw, hw))
    (lay,) = count_layers(g)
    assert lay.synapses == conn.sum()
    assert lay.fan_in == conn.sum(0).max()
    assert lay.source_fan_out["x"] == conn.sum(1).max()
    # the input axons of any tile cover exactly (stride 1, no dilation) or over-cover its receptive field
    seg = ["c"]
    for box in [((0, c_out), (0, 2), (1, 3)), ((0, 1), (1, 2), (0, 1))]:
        box = tuple((lo, min(hi, d)) for (lo, hi), d in zip(box, g.node("n").shape))
        mask = np.zeros(g.node("n").shape, bool)
        mask[tuple(slice(*b) for b in box)] = True
        needed = conn[:, mask.reshape(-1)].any(1).sum()
        got = input_axons(g, ("c",), seg, box)
        assert got >= needed
        if stride == 1 and dil == 1 and groups == 1:
            assert got == needed


def dense_graph(n_in, n_out):
    w = np.random.default_rng(1).standard_normal((n_out, n_in)).astype(np.float32)
    return Graph.build([("x", Input((n_in,)), []), ("fc", Linear(w, None), ["x"]), ("n", IF(n_out), ["fc"])], ["n"])


def test_dense_layer_split_by_neurons():
    # Loihi: 1,024 neurons/core; 100 inputs x 9 bit = 900 bit per neuron fits 1,165 in 128 KiB -> neuron-bound
    m = map_graph(dense_graph(100, 3000), "loihi")
    lay = m.layer("n")
    assert lay.cores == 3 and lay.neurons_per_core == 1000 and lay.axons_per_core == 100
    assert m.cores == 3 and m.chips == 1 and not m.issues


def test_dense_layer_split_by_memory():
    # 1,000 inputs x 9 bit = 9,000 bit per neuron; 1,048,576 bit per core -> 116 neurons -> ceil(3000/116) = 26
    m = map_graph(dense_graph(1000, 3000), "loihi")
    lay = m.layer("n")
    assert lay.neurons_per_core <= 1_048_576 // 9000 == 116
    assert lay.cores == 26 and lay.memory_per_core <= 1_048_576


def test_fan_in_violation_is_an_error_that_names_the_layer():
    m = map_graph(dense_graph(5000, 10), "loihi")
    assert [i.layer for i in m.errors] == ["n"]
    assert "max_fan_in" in m.errors[0].message and "5,000" in m.errors[0].message
    with pytest.raises(HardwareError, match="'n'"):
        check_fit(m)
    assert not m.fits and m.cores == 1   # the failing layer counts as a lower bound


def test_chips_needed_and_fan_out_limit():
    # TrueNorth: 256 neurons and 256 axons per core; a 256-input dense layer of 2,048 neurons
    m = map_graph(dense_graph(256, 2048), "truenorth")
    assert m.layer("n").cores == 8 and m.chips == 1
    # a source layer whose neurons each reach all 4 cores of a 1,000-neuron dense consumer must be spread out
    w1 = np.ones((200, 100), np.float32)
    w2 = np.ones((1000, 200), np.float32)
    g = Graph.build([("x", Input((100,)), []), ("a", Linear(w1, None), ["x"]), ("na", IF(200), ["a"]),
                     ("b", Linear(w2, None), ["na"]), ("nb", IF(1000), ["b"])], ["nb"])
    m = map_graph(g, "truenorth")
    assert m.layer("nb").cores == 4
    assert m.layer("na").neurons_per_core * 4 <= 256 and m.layer("na").cores == 4


def _one_exponent_error(w, bits):
    from snnc.compiler.lower.quantize import exponent, quantise, relative_error
    e = exponent(float(np.abs(w).max()), bits, lo=-30, hi=30)
    return relative_error(w, quantise(w, e, bits)[0], e)


def test_weight_precision_loss():
    exact = np.array([-4, -1, 0, 3, 127], np.float32) * 2.0 ** -5   # representable in 8 bit, exponent -5
    assert _one_exponent_error(exact, 8) == 0.0
    w = np.random.default_rng(0).standard_normal(10_000)
    # uniform quantiser step q = 2^ceil(log2(max/127)): error ~ q / sqrt(12) per weight
    q = 2.0 ** np.ceil(np.log2(np.abs(w).max() / 127))
    assert _one_exponent_error(w, 8) == pytest.approx(q / np.sqrt(12) / np.sqrt(np.mean(w ** 2)), rel=0.1)
    m = map_graph(dense_graph(64, 64), "truenorth")   # 2-bit weights
    assert any(i.level == "warning" and "weights to 2 bit" in i.message for i in m.issues)


def test_fan_out_and_sop_through_pool_and_flatten():
    w = np.random.default_rng(0).standard_normal((4, 1, 3, 3)).astype(np.float32)
    g = Graph.build([("x", Input((1, 8, 8)), []), ("c", Conv2d(w, None, padding=(1, 1, 1, 1)), ["x"]),
                     ("n", IF(4), ["c"]), ("p", AvgPool2d(), ["n"]), ("f", Flatten(), ["p"]),
                     ("l", Linear(np.ones((10, 64), np.float32), None), ["f"])], ["l"])
    lay = {l.name: l for l in count_layers(g)}
    # SOP fan-out (sop.fanout_maps): a spike reaches the 10 readout synapses of its (non-overlapping) pool window
    assert lay["n"].out_synapses == 4 * 8 * 8 * 10 and lay["n"].fan_out == 10
    assert lay["n"].sources == {"x": 4 * 22 * 22}   # 3x3 pad 1 on 8: 2+3*6+2 = 22 taps per axis
    assert lay["l"].kind == "readout" and lay["l"].synapses == 64 * 4 + 640


def test_summary_table_and_dict():
    g, _ = conv_graph(2, 3, 5)
    text = summary_table(g, "loihi2")
    assert "resources on loihi2" in text and "n" in text and "1,014" in text
    d = summary(g, "loihi2")
    json.dumps(d)
    assert d["synapses"] == 1014 and d["cores"] == 1 and d["chips"] == 1
    with pytest.raises(HardwareError, match="ANN profile"):
        map_graph(g, "cmos45")


def test_failing_layer_that_must_also_be_spread_for_fan_out():
    # n: 300 inputs > 256 axons (error, lower-bound cores); its neurons also reach all 4 cores of m
    g = Graph.build([("x", Input((300,)), []), ("a", Linear(np.ones((256, 300), np.float32), None), ["x"]),
                     ("n", IF(256), ["a"]), ("b", Linear(np.ones((1000, 256), np.float32), None), ["n"]),
                     ("m", IF(1000), ["b"])], ["m"])
    m = map_graph(g, "truenorth")
    assert [i.layer for i in m.errors] == ["n"] and not m.fits
    assert m.layer("m").cores == 4 and m.layer("n").neurons_per_core == 256 // 4 and m.layer("n").cores == 4


def pooled_graph():
    """conv -> max pool (pre-neuron, on the constant input current) -> IF -> conv -> max pool (cumulative) -> IF."""
    rng = np.random.default_rng(0)
    w1, w2 = (rng.standard_normal(s).astype(np.float32) for s in ((4, 1, 3, 3), (6, 4, 3, 3)))
    return Graph.build([
        ("x", Input((1, 8, 8)), []), ("c1", Conv2d(w1, None, padding=(1, 1, 1, 1)), ["x"]),
        ("p1", MaxPool2d(mode="pre-neuron"), ["c1"]), ("n1", IF(4), ["p1"]),
        ("c2", Conv2d(w2, None, padding=(1, 1, 1, 1)), ["n1"]), ("p2", MaxPool2d(mode="cumulative"), ["c2"]),
        ("n2", IF(6), ["p2"]), ("f", Flatten(), ["n2"]), ("l", Linear(np.ones((3, 24), np.float32), None), ["f"]),
    ], ["l"])


def test_max_pools_over_currents_are_reported_with_their_state():
    m = map_graph(pooled_graph(), "loihi")
    warned = {i.layer: i.message for i in m.issues if i.level == "warning" and "max pool" in i.message}
    assert set(warned) == {"p1", "p2"} and m.fits
    assert "(pre-neuron)" in warned["p1"] and "host with the first layer" in warned["p1"]
    assert "(cumulative)" in warned["p2"] and "custom process" in warned["p2"]
    # p2 pools the 6 x 4 x 4 currents of c2 into 6 x 2 x 2: one running sum per input, one previous max per output
    assert "96 running sums" in warned["p2"] and "24 previous maxima" in warned["p2"]
    d = summary(pooled_graph(), "loihi")
    pools = {p["name"]: p for p in d["pools"]}
    assert pools["p2"] == {"name": "p2", "mode": "cumulative", "inputs": 96, "outputs": 24, "static": False,
                           "running_sums": 96, "previous_max": 24, "state_values": 120}
    assert pools["p1"]["static"] and pools["p1"]["state_values"] == 0 and d["pool_state_values"] == 120
    assert "p2 (cumulative, 120 state values)" in summary_table(pooled_graph(), "loihi")
    # an op-count model has no cores to map onto: the pools are listed, without a warning
    seed = map_graph(pooled_graph(), "seed-generic")
    assert [p.name for p in seed.pools] == ["p1", "p2"] and not seed.issues
    # ... and the energy estimate says it leaves the spike-driven pool out
    from snnc import estimate
    from snnc.compiler.artifact import Artifact
    rates = {"calibration": {"layers": {"n1": {"expected_rate": 0.2}, "n2": {"expected_rate": 0.1}}}}
    r = estimate(Artifact(pooled_graph(), pooled_graph(), rates), "loihi", T=4)
    assert any("max pools over currents (p2 cumulative)" in x for x in r["excluded"])
    assert r["resources"]["pool_state_values"] == 120
