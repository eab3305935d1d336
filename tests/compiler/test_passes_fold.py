"""Threshold folding end to end on IR-built graphs covering every folding case.

Oracle: the clip-ANN computed independently from the *unfolded* source ANN
(each ReLU / Clip node's output clipped at the calibrated thresholds via the
executor hook). The folded unit-threshold graph must compute the same
function within 1e-5 of the output scale.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from snnc.compiler.execute import run
from snnc.compiler.ir import (Add, AvgPool2d, ChannelPermute, Clip, Concat, Flatten,
                              GlobalAvgPool2d, Graph, Identity, IFNeuron, Input, Linear, MaxPool2d, Pad,
                              ReLU, Reshape, Resize)
from snnc.compiler.passes.check_snn import SNN_OPS
from snnc.compiler.passes.fold_thresholds import fold_thresholds
from snnc.compiler.passes.pipeline import run_pipeline, steps_until

from ..oracles import EPS32, clip_ann
from .graph_params import Params

P = Params(1)
w, conv, bn = P.w, P.conv, P.bn


@pytest.fixture(autouse=True)
def fresh_params():
    """Every test starts from the same generator state, so it is reproducible on its own (-k)."""
    P.reseed(1)


def head(src, c, hw=4):
    return [("flat", Flatten(), [src]), ("fc", Linear(weight=w(5, c * hw * hw), bias=w(5)), ["flat"])]


def stem(c=4):
    return [("x", Input(shape=(3, 8, 8)), []), ("c1", conv(c, 3), ["x"]), ("b1", bn(c), ["c1"]),
            ("r1", ReLU(), ["b1"])]


def g_flatten_maxpool_pre():
    return stem() + [("p1", MaxPool2d(), ["r1"]), ("c2", conv(6, 4), ["p1"]), ("r2", ReLU(), ["c2"]),
                     ("p2", MaxPool2d(), ["r2"])] + head("p2", 6, 2)


def g_maxpool_post_neuron():  # r1 feeds the pool and a conv: the pool stays after the neurons
    return stem() + [("p1", MaxPool2d(kernel=(1, 1), stride=(1, 1)), ["r1"]), ("c2", conv(4, 4), ["r1"]),
                     ("a", Add(), ["p1", "c2"]), ("r2", ReLU(), ["a"]), ("p2", MaxPool2d(), ["r2"]),
                     ("r3", Identity(), ["p2"])] + head("r3", 4)


def g_avgpool_gap():
    return stem() + [("ap", AvgPool2d(padding=(1, 1, 1, 1), count_include_pad=True), ["r1"]),
                     ("c2", conv(6, 4), ["ap"]), ("r2", ReLU(), ["c2"]), ("gap", GlobalAvgPool2d(), ["r2"]),
                     ("flat", Flatten(), ["gap"]), ("fc", Linear(weight=w(5, 6), bias=w(5)), ["flat"])]


def g_residual_identity():
    return stem() + [("c2", conv(4, 4), ["r1"]), ("r2", ReLU(), ["c2"]), ("c3", conv(4, 4), ["r2"]),
                     ("a", Add(), ["c3", "r1"]), ("r3", ReLU(), ["a"])] + head("r3", 4, 8)


def g_residual_projection():
    return stem() + [("c2", conv(6, 4, stride=(2, 2)), ["r1"]), ("r2", ReLU(), ["c2"]), ("c3", conv(6, 6), ["r2"]),
                     ("proj", conv(6, 4, k=1, pad=0, stride=(2, 2)), ["r1"]), ("bp", bn(6), ["proj"]),
                     ("a", Add(), ["c3", "bp"]), ("r3", ReLU(), ["a"])] + head("r3", 6)


def g_concat_permute_grouped():
    return stem() + [("c2", conv(2, 4), ["r1"]), ("r2", ReLU(), ["c2"]),
                     ("cat", Concat(), ["r1", "r2"]),
                     ("perm", ChannelPermute(perm=np.array([5, 0, 3, 1, 4, 2])), ["cat"]),
                     ("c3", conv(6, 3, groups=2), ["perm"]), ("r3", Clip(lo=0.0, hi=1.5), ["c3"]),
                     ("c4", conv(6, 1, groups=6), ["r3"]), ("r4", ReLU(), ["c4"])] + head("r4", 6, 8)


def dead_channel_conv(c_out, c_in, channel=1):
    """A conv whose output ``channel`` is never positive (zero weights, bias -1): its threshold is 0."""
    op = conv(c_out, c_in)
    weight, bias = op.weight.copy(), op.bias.copy()  # op arrays are read-only
    weight[channel], bias[channel] = 0.0, -1.0
    return replace(op, weight=weight, bias=bias)


def g_dead_channel():
    c2 = dead_channel_conv(4, 4)
    return stem() + [("c2", c2, ["r1"]), ("r2", ReLU(), ["c2"]), ("c3", conv(4, 4), ["r2"]),
                     ("a", Add(), ["c3", "r2"]), ("r3", ReLU(), ["a"])] + head("r3", 4, 8)


def g_fork_before_dead_neuron():  # c2 feeds a neuron with a dead channel and, unclipped, an Add
    c2 = dead_channel_conv(4, 4)
    return stem() + [("c2", c2, ["r1"]), ("pp", AvgPool2d(kernel=(1, 1), stride=(1, 1)), ["c2"]),
                     ("r2", ReLU(), ["c2"]), ("c3", conv(4, 4), ["r2"]),
                     ("a", Add(), ["c3", "pp"]), ("r3", ReLU(), ["a"])] + head("r3", 4, 8)


def g_add_no_activation():  # an Add no neuron reads (a conv does): its scale is not set by a reader
    return stem() + [("c2", conv(4, 4), ["r1"]), ("r2", ReLU(), ["c2"]), ("a", Add(), ["r2", "r1"]),
                     ("c3", conv(4, 4), ["a"]), ("r3", ReLU(), ["c3"])] + head("r3", 4, 8)


def g_add_no_activation_dead_first():  # the Add's first input has a dead channel
    return stem() + [("c2", dead_channel_conv(4, 4), ["r1"]), ("r2", ReLU(), ["c2"]),
                     ("a", Add(), ["r2", "r1"]), ("c3", conv(4, 4), ["a"]), ("r3", ReLU(), ["c3"])] + head("r3", 4, 8)


def g_add_no_activation_dead_second():  # ... its second input, and the sum feeds the readout directly
    return stem() + [("c2", dead_channel_conv(4, 4), ["r1"]), ("r2", ReLU(), ["c2"]),
                     ("a", Add(), ["r1", "r2"])] + head("a", 4, 8)


def g_resize_pad_reshape_lone_bn():
    return stem() + [("bn2", bn(4), ["r1"]), ("c2", conv(4, 4), ["bn2"]), ("r2", ReLU(), ["c2"]),
                     ("bn3", bn(4), ["r2"]), ("c3", conv(4, 4, k=1, pad=0), ["bn3"]), ("r3", ReLU(), ["c3"]),
                     ("up", Resize(size=(16, 16), mode="linear", coord="half_pixel"), ["r3"]),
                     ("pad", Pad(pads=(1, 1, 1, 1), value=0.0), ["up"]), ("c4", conv(4, 4, stride=(2, 2), pad=0), ["pad"]),
                     ("r4", ReLU(), ["c4"]), ("padv", Pad(pads=(0, 0, 1, 1), value=0.25), ["r4"]),
                     ("mix", Reshape(shape=(2, 18, 9)), ["padv"]), ("c5", conv(3, 2), ["mix"]), ("r5", ReLU(), ["c5"]),
                     ("rs", Reshape(shape=(3 * 162,)), ["r5"]), ("bn6", bn(486), ["rs"]),
                     ("fc", Linear(weight=w(5, 486), bias=w(5)), ["bn6"])]


GRAPHS = {f.__name__[2:]: f for f in [g_flatten_maxpool_pre, g_maxpool_post_neuron, g_avgpool_gap,
                                      g_residual_identity, g_residual_projection, g_concat_permute_grouped,
                                      g_dead_channel, g_fork_before_dead_neuron, g_resize_pad_reshape_lone_bn,
                                      g_add_no_activation, g_add_no_activation_dead_first,
                                      g_add_no_activation_dead_second]}


def assert_equivalent(ann, snn, cal_layers, x, rel=1e-5):
    th = {k: v["thresholds"] for k, v in cal_layers.items()}
    ref = clip_ann(ann, th, x)
    out = run(snn, x)[snn.outputs[0]]
    scale = max(float(np.abs(ref).max()), 1e-6)
    assert np.abs(out - ref).max() <= rel * scale, (np.abs(out - ref).max(), scale)


def compile_graph(spec, outputs=("fc",), **opts):
    ann = Graph.build(spec, list(outputs))
    x = P.rng.standard_normal((64,) + ann.inputs[0].shape).astype(np.float32)
    opts.setdefault("method", "cltb")  # channel-wise: dead channels stay dead (auto may pick a layer-wise method)
    opts.setdefault("iters", 100)      # folding does not depend on how long calibration ran
    snn, log, info = run_pipeline(ann, calib=x, batch_size=16, **opts)
    return ann, snn, log, info, x


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("method", ["cltb", "max"])
def test_folded_graph_equals_clip_ann(name, method):
    ann, snn, log, info, x = compile_graph(GRAPHS[name](), method=method)
    assert {n.type for n in snn.nodes} <= SNN_OPS
    for n in snn.of_type(IFNeuron):
        assert np.all(n.op.threshold == 1.0) and np.all(n.op.v_init == 0.5) and n.op.reset == "subtract"
    assert snn.node(snn.outputs[0]).type in ("Linear", "Conv2d")  # readout = last synaptic layer
    assert_equivalent(ann, snn, info["calibration"]["layers"], x)
    assert_equivalent(ann, snn, info["calibration"]["layers"], P.rng.standard_normal(x.shape).astype(np.float32))


def _changes(log, step):
    return [c for e in log if e["pass"] == step for c in e["changes"]]


def test_residual_identity_skip_gets_gain_theta_a_over_theta_o():
    ann, snn, log, info, _ = compile_graph(g_residual_identity())
    gains = [n for n in snn.nodes if n.type == "ChannelAffine"]
    assert len(gains) == 1 and gains[0].inputs == ("r1",)
    lay = info["calibration"]["layers"]
    expect = np.float32(lay["r1"]["thresholds"]) / np.float32(lay["r3"]["thresholds"])
    np.testing.assert_allclose(gains[0].op.scale, expect, rtol=2 * EPS32, atol=0)   # a quotient: <= 2 roundings
    assert not np.any(gains[0].op.shift)


def test_projection_skip_absorbs_scale_without_gain():
    ann, snn, log, info, _ = compile_graph(g_residual_projection())
    assert not [n for n in snn.nodes if n.type == "ChannelAffine"]
    assert "folded BatchNorm 'bp' into Conv2d 'proj'" in _changes(log, "fold_batchnorm")


def test_dead_channel_removed_and_reported():
    ann, snn, log, info, _ = compile_graph(g_dead_channel())
    assert info["calibration"]["layers"]["r2"]["thresholds"][1] == 0.0
    assert np.all(snn.node("c2").op.weight[1] == 0) and snn.node("c2").op.bias[1] == 0
    assert np.all(snn.node("c3").op.weight[:, 1] == 0)  # outgoing weights zeroed
    assert any("'r2': 1 dead channel" in c for c in _changes(log, "fold_thresholds"))


def test_add_without_activation_keeps_live_branch_of_dead_channel():
    """A dead channel of the Add's first input must not zero the other branch's channel (gain a_j / 0)."""
    ann, snn, log, info, x = compile_graph(g_add_no_activation_dead_first())
    assert info["calibration"]["layers"]["r2"]["thresholds"][1] == 0.0
    assert info["calibration"]["layers"]["r1"]["thresholds"][1] > 0.0
    gains = [n for n in snn.nodes if n.type == "ChannelAffine"]
    assert all(g.op.scale[1] != 0 for g in gains if g.inputs == ("r1",))
    assert_equivalent(ann, snn, info["calibration"]["layers"], x)


def test_pool_modes_auto_pre_neuron_vs_cumulative():
    ann, snn, log, info, _ = compile_graph(g_flatten_maxpool_pre())
    assert snn.node("p1").op.mode == "pre-neuron" and snn.node("p1").inputs == ("c1",)
    assert snn.node("r1").inputs == ("p1",)  # the neuron moved after the pool
    assert snn.node("p2").op.mode == "cumulative"
    for forced in ("pre-neuron", "cumulative"):
        _, snn2, _, _, _ = compile_graph(g_flatten_maxpool_pre(), pool_mode=forced)
        assert {n.op.mode for n in snn2.of_type(MaxPool2d)} == {forced}


def test_post_neuron_pool_kept_and_reported():
    ann, snn, log, info, _ = compile_graph(g_maxpool_post_neuron())
    assert snn.node("p1").inputs == ("r1",) and snn.node("p1").op.mode == "cumulative"
    assert any("kept after ReLU 'r1'" in c for c in _changes(log, "swap_maxpool"))


def test_lone_bn_before_padded_conv_is_kept_and_reported():
    ann, snn, log, info, _ = compile_graph(g_resize_pad_reshape_lone_bn())
    kept = _changes(log, "fold_affine")
    assert any("'bn2' kept" in c and "zero-padded" in c for c in kept)
    assert "folded ChannelAffine 'bn3' into Conv2d 'c3'" in kept  # 1x1 conv without padding: exact
    assert any("'bn6'" in c and "Linear 'fc'" in c for c in kept)
    assert "bn2" in snn and "bn3" not in snn


def test_relu6_threshold_capped():
    ann, snn, log, info, x = compile_graph(g_concat_permute_grouped(), method="max")
    assert max(info["calibration"]["layers"]["r3"]["thresholds"]) <= 1.5


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(GRAPHS)), st.integers(0, 2 ** 16), st.floats(0.0, 0.5))
def test_fold_thresholds_property_any_thresholds(name, seed, dead_fraction):
    """For arbitrary thresholds (some exactly 0) the folded graph equals the unfolded clip-ANN."""
    rng = np.random.default_rng(seed)
    P.reseed(seed)   # the graph's weights come from the drawn seed too: replayable, shrinkable
    neurons, _, _ = run_pipeline(Graph.build(GRAPHS[name](), ["fc"]), steps_until("calibrate"))
    spec = []
    for n in neurons.nodes:
        op = n.op
        if isinstance(op, IFNeuron):
            th = rng.uniform(0.05, 4.0, op.threshold.shape) * (rng.random(op.threshold.shape) >= dead_fraction)
            op = IFNeuron(threshold=np.minimum(th, op.threshold).astype(np.float32), v_init=op.v_init)
        spec.append((n.name, op, n.inputs))
    calibrated = Graph.build(spec, neurons.outputs)
    folded = fold_thresholds(calibrated).graph
    x = rng.standard_normal((6,) + calibrated.inputs[0].shape).astype(np.float32)
    ref = run(calibrated, x)["fc"]
    out = run(folded, x)[folded.outputs[0]]
    assert np.abs(out - ref).max() <= 1e-5 * max(float(np.abs(ref).max()), 1e-3)


@pytest.mark.parametrize("gamma, beta", [(1e30, 0.0), (1.0, -3e38)])
def test_folding_beyond_float32_is_an_error_naming_the_node(gamma, beta):
    """Finite float32 weights and statistics whose folded product does not fit float32: GraphError, no warning."""
    import warnings
    from snnc.compiler.errors import GraphError
    from snnc.compiler.ir import BatchNorm, Conv2d, Graph, Input
    from snnc.compiler.passes.fold_batchnorm import fold_batchnorm
    c = np.ones(2, np.float32)
    g = Graph.build([("x", Input((1, 4, 4)), ()),
                     ("conv", Conv2d(np.full((2, 1, 1, 1), 1e30, np.float32), None), ("x",)),
                     ("bn", BatchNorm(gamma * c, beta * c, 3e38 * c * (beta != 0), c), ("conv",))], ["bn"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GraphError, match="node 'bn': folding gives a parameter of magnitude .* beyond float32"):
            fold_batchnorm(g)
