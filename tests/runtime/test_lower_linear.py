"""Currents composed into one synapse per source (compiler/lower/linear.py): the rewritten graph computes
every integrated current the original computes (the ANN executor on both is the oracle), what has no exact
form is left alone and refused by name in fixed point, and the Lava runs of a MobileNet-like bottleneck
and a DenseNet-like Concat equal the NumPy simulator (float) and the NumPy fixed-point reference (bit for
bit)."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError
from snnc.compiler.execute import run
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Add, ChannelAffine, Concat, Conv2d, Flatten, Input, Linear
from snnc.compiler.lower import NumberFormat, make_plan
from snnc.runtime.lava.reference import Reference

from ..oracles import assert_network_close, path_terms
from .lava_nets import concat_net, dyadic, if_layer, stem


def _w(rng, *shape, s=0.5):
    return dyadic(rng.normal(0, s, shape))


_if = if_layer


def _stem(rng, c=4):
    return stem(_w, rng, c)


def bottleneck(rng):
    """MobileNet: n0 -> 1x1 -> gain -> Add(n0, .) with no neuron -> 1x1 -> IF; a second Add chained on it."""
    spec = _stem(rng) + [
        ("p1", Conv2d(_w(rng, 4, 4, 1, 1), _w(rng, 4)), ["n0"]),
        ("g", ChannelAffine(_w(rng, 4) + 1, np.zeros(4, np.float32)), ["p1"]),
        ("a1", Add(), ["n0", "g"]),
        ("e2", Conv2d(_w(rng, 6, 4, 1, 1), _w(rng, 6)), ["a1"]), ("n2", _if(6), ["e2"]),
        ("d2", Conv2d(_w(rng, 6, 1, 3, 3), _w(rng, 6), padding=(1,) * 4, groups=6), ["n2"]), ("n3", _if(6), ["d2"]),
        ("p3", Conv2d(_w(rng, 4, 6, 1, 1), _w(rng, 4)), ["n3"]),
        ("a2", Add(), ["a1", "p3"]),
        ("e4", Conv2d(_w(rng, 5, 4, 1, 1), _w(rng, 5)), ["a2"]), ("n4", _if(5), ["e4"]),
        ("f", Flatten(), ["n4"]), ("out", Linear(_w(rng, 3, 180), None), ["f"])]
    return Graph.build(spec, ["out"])


def dense_block(rng):
    """DenseNet: Concat(host value, conv of spikes) -> kept batch norm (shift) -> IF, twice, growing."""
    spec = _stem(rng) + [
        ("k1", Conv2d(_w(rng, 3, 4, 3, 3), None, padding=(1,) * 4), ["n0"]),
        ("cat1", Concat(), ["c0", "k1"]),
        ("bn1", ChannelAffine(_w(rng, 7) + 1, _w(rng, 7)), ["cat1"]), ("n1", _if(7), ["bn1"]),
        ("k2", Conv2d(_w(rng, 3, 7, 3, 3), None, padding=(1,) * 4), ["n1"]),
        ("cat2", Concat(), ["cat1", "k2"]),
        ("bn2", ChannelAffine(_w(rng, 10) + 1, _w(rng, 10)), ["cat2"]), ("n2", _if(10), ["bn2"]),
        ("cat3", Concat(), ["n1", "n2"]), ("f", Flatten(), ["cat3"]), ("out", Linear(_w(rng, 3, 612), _w(rng, 3)), ["f"])]
    return Graph.build(spec, ["out"])


def strided(rng):
    """An unpadded dilated conv after a strided padded one: kernel s1 d2 (k2 - 1) + d1 (k1 - 1) + 1."""
    spec = [("x", Input((1, 11, 11)), []), ("c0", Conv2d(_w(rng, 3, 1, 1, 1), None), ["x"]), ("n0", _if(3), ["c0"]),
            ("c1", Conv2d(_w(rng, 4, 3, 3, 3), _w(rng, 4), stride=(2, 2), padding=(1,) * 4), ["n0"]),
            ("c2", Conv2d(_w(rng, 2, 4, 2, 2), _w(rng, 2), dilation=(2, 2)), ["c1"]), ("n2", _if(2), ["c2"]),
            ("f", Flatten(), ["n2"]), ("out", Linear(_w(rng, 3, 32), None), ["f"])]
    return Graph.build(spec, ["out"])


CASES = {"bottleneck": (bottleneck, ["e2", "e4"]), "dense block": (dense_block, ["bn1", "bn2", "out"]),
         "strided": (strided, ["c2"])}


@pytest.mark.parametrize("case", list(CASES))
def test_composed_currents_are_the_same(rng, case):
    build, currents = CASES[case]
    g = build(rng)
    plan = make_plan(g, NumberFormat())
    new = plan.graph
    assert not any(n.type == "Concat" for n in new if n.name not in plan.host)
    for n in new:   # every synapse off the host reads a source: spikes (or a view of them) or a host value
        if n.op.weight_field and n.name not in plan.host:
            src = new.node(n.inputs[0])
            src = new.node(src.inputs[0]) if src.op.virtual else src
            assert src.type == "IFNeuron" or src.name in plan.host, (n.name, src.name)
    x = np.random.default_rng(1).random((4,) + g.inputs[0].shape).astype(np.float32)
    a, b = run(g, x, keep=currents), run(new, x, keep=currents)
    for c in currents:
        assert_network_close(g, x, b[c], a[c], f"{case}: {c}", output=c, k=path_terms(g, c) + path_terms(new, c))


def test_bottleneck_weights_are_the_products(rng):
    """e2 reads Add(n0, g(p1(n0))): one synapse on n0, W_e2 (I + diag(g) W_p1), bias W_e2 g b_p1 + b_e2."""
    g = bottleneck(rng)
    new = make_plan(g, NumberFormat()).graph
    e2, p1, gain = (np.asarray(g.node(k).op.weight if k != "g" else g.node(k).op.scale, np.float64)
                    for k in ("e2", "p1", "g"))
    w = e2[:, :, 0, 0] @ (np.eye(4) + gain[:, None] * p1[:, :, 0, 0])
    merged = new.node("e2")
    assert merged.inputs == ("n0",)
    # computed in float64 (error ~ k eps64 of the terms' magnitudes), then rounded once to float32
    terms = np.abs(e2[:, :, 0, 0]) @ (np.eye(4) + np.abs(gain[:, None] * p1[:, :, 0, 0]))
    eps32, eps64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
    assert np.all(np.abs(merged.op.weight[:, :, 0, 0] - w) <= eps32 * np.abs(w) + 8 * eps64 * terms)
    b = e2[:, :, 0, 0] @ (gain * np.asarray(g.node("p1").op.bias)) + np.asarray(g.node("e2").op.bias)
    bt = np.abs(e2[:, :, 0, 0]) @ np.abs(gain * np.asarray(g.node("p1").op.bias)) + np.abs(g.node("e2").op.bias)
    assert np.all(np.abs(merged.op.bias - b) <= eps32 * np.abs(b) + 8 * eps64 * bt)


def test_what_has_no_exact_form_is_left_alone_and_refused_in_fixed_point(rng):
    """A padded 3x3 conv after a biased 3x3 conv: the border of the bias map is not a per-channel bias."""
    spec = [("x", Input((1, 6, 6)), []), ("c0", Conv2d(_w(rng, 2, 1, 1, 1), None), ["x"]), ("n0", _if(2), ["c0"]),
            ("c1", Conv2d(_w(rng, 2, 2, 3, 3), _w(rng, 2), padding=(1,) * 4), ["n0"]),
            ("c2", Conv2d(_w(rng, 2, 2, 3, 3), None, padding=(1,) * 4), ["c1"]), ("n2", _if(2), ["c2"]),
            ("f", Flatten(), ["n2"]), ("out", Linear(_w(rng, 3, 72), None), ["f"])]
    g = Graph.build(spec, ["out"])
    plan = make_plan(g, NumberFormat())
    assert plan.graph.node("c2").inputs == ("c1",)
    assert any(f.startswith("c2: not composed (a padded Conv after a Conv") for f in plan.compositions)
    with pytest.raises(BackendError, match="'c1'.*feeds another synapse.*c2: not composed"):
        Reference(g, fixed=True)


def _counts(res):
    return {l.name: np.asarray(l.spikes_per_step) * res.activity.samples for l in res.activity.layers}


@pytest.mark.parametrize("build", [bottleneck, dense_block, concat_net])
def test_lava_float_and_fixed(lava, rng, build):
    """Float Lava = the NumPy simulator spike for spike; fixed Lava = the NumPy fixed reference bit for bit
    (concat_net: a Concat of spikes read through a Flatten by the readout, each part its columns of W); the
    resource estimate's process count (analysis.processes, from the plan) is the processes Lava built."""
    from snnc.compiler.analysis.resources import count_layers
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.runner import run_lava
    g, T = build(rng), 8
    x = np.random.default_rng(2).random((6,) + g.inputs[0].shape).astype(np.float32)
    ref, got = get_backend("numpy").run(g, x, T), get_backend("lava").run(g, x, T)
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=f"float spikes of layer {k}")
        assert v.sum() > 0
    np.testing.assert_array_equal(got.predictions(T), ref.predictions(T))
    fx = run_lava(g, x, T, fixed=True, timeout=600)
    trace, spikes, sat = Reference(g, fixed=True).run(x, T)
    for k, v in spikes.items():
        np.testing.assert_array_equal(fx.spikes[k], v, err_msg=f"fixed spikes of layer {k}")
    np.testing.assert_array_equal(fx.trace, trace)
    assert fx.saturated == sat
    assert fx.lava_processes == sum(l.processes for l in count_layers(g, 8))


def test_report_error_is_the_error_that_runs_on_a_composed_layer_beyond_8_bits(rng):
    """e2 x 300: the composed weights W = W_e2 (I + diag(g) W_p1) exceed 8 bits. The exponents, the integers
    the fixed-point run uses and the error the resource estimate reports all follow from W by the documented
    rule E_c = clip(floor(log2(127 / max_i |W[c, i]|)), 0, 16), q = clip(round(W 2^E_c), -128, 127)."""
    from snnc.compiler.analysis.resources import count_layers
    from snnc.compiler.passes.base import rebuild, replace_op, spec_of
    g = bottleneck(rng)
    g = rebuild(g, [(n, replace_op(op, weight=op.weight * 300) if n == "e2" else op, ins)
                    for n, op, ins in spec_of(g)])
    e2, p1, gain = (np.asarray(g.node(k).op.weight if k != "g" else g.node(k).op.scale, np.float64)
                    for k in ("e2", "p1", "g"))
    w = e2[:, :, 0, 0] @ (np.eye(4) + gain[:, None] * p1[:, :, 0, 0])
    assert np.abs(w).max() > 127
    e = np.clip(np.floor(np.log2(127 / np.abs(w).max(axis=1))), 0, 16)
    q = np.clip(np.round(w * 2.0 ** e[:, None]), -128, 127)
    ran = Reference(g, fixed=True).params["e2"][:, :, 0, 0]
    # the composed float32 weights differ from w by float rounding: the integers may differ where w 2^E sits
    # within that rounding of a half-integer, never by more than 1
    assert np.abs(ran - q).max() <= 1 and np.mean(ran == q) > 0.9
    want = np.linalg.norm(w - ran / 2.0 ** e[:, None]) / np.linalg.norm(w)
    report = {l.name: l for l in count_layers(g, 8)}["n2"]
    eps = np.finfo(np.float32).eps   # W in float32 moves ||w - q|| by <= eps ||w|| and ||w|| by <= eps ||w||
    assert want > 0.01 and report.weight_error == pytest.approx(want, rel=2 * eps / want + 2 * eps)
    r = np.round(w * 2.0 ** e[:, None])
    clipped = make_plan(g, NumberFormat(True, 8)).layers["n2"].weights_clipped
    assert abs(clipped - int(np.sum((r < -128) | (r > 127)))) <= int(np.sum(ran != q)) and clipped > 0
