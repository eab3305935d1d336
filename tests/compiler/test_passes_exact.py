"""Property tests: BN folding, affine folding, the max-pool rewrite and identity removal preserve the ANN.

Oracle: the NumPy executor on the graph before the pass (ONNX semantics,
itself tested against onnxruntime); random small graphs and weights.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.execute import run
from snnc.compiler.ir import (BatchNorm, ChannelAffine, Clip, Conv2d, Flatten, Graph, Identity, Input, Linear,
                              MaxPool2d, ReLU)
from snnc.compiler.passes.activations import check_activations
from snnc.compiler.passes.fold_affine import fold_affine
from snnc.compiler.passes.fold_batchnorm import fold_batchnorm
from snnc.compiler.passes.remove_identity import remove_identity
from snnc.compiler.passes.swap_maxpool import swap_maxpool

from ..oracles import assert_network_close, path_terms

SETTINGS = settings(max_examples=25, deadline=None)


def _arr(rng, *shape, lo=None):
    a = rng.standard_normal(shape).astype(np.float32)
    return np.abs(a) + lo if lo is not None else a


def _out(g, x):
    return run(g, x)[g.outputs[0]]


def _close(new, g, x):
    """The rewritten graph computes g's function: both are float32 evaluations of one network."""
    assert_network_close(g, x, _out(new, x), _out(g, x), k=path_terms(g) + path_terms(new))


conv_params = st.fixed_dictionaries({
    "seed": st.integers(0, 2 ** 16), "groups": st.sampled_from([1, 2]), "k": st.integers(1, 3),
    "stride": st.integers(1, 2), "pad": st.integers(0, 1), "bias": st.booleans()})


def _conv(rng, c_in, c_out, p):
    return Conv2d(weight=_arr(rng, c_out, c_in // p["groups"], p["k"], p["k"]),
                  bias=_arr(rng, c_out) if p["bias"] else None, stride=(p["stride"],) * 2,
                  padding=(p["pad"],) * 4, groups=p["groups"])


def _bn(rng, c):
    return BatchNorm(gamma=_arr(rng, c), beta=_arr(rng, c), mean=_arr(rng, c), var=_arr(rng, c, lo=0.1), eps=1e-3)


@SETTINGS
@given(conv_params)
def test_bn_folding_into_conv_and_lone_bn_preserve_function(p):
    rng = np.random.default_rng(p["seed"])
    g = Graph.build([("x", Input(shape=(4, 6, 6)), []), ("c", _conv(rng, 4, 4, p), ["x"]), ("bn", _bn(rng, 4), ["c"]),
                     ("r", ReLU(), ["bn"]), ("bn2", _bn(rng, 4), ["r"]), ("f", Flatten(), ["bn2"]),
                     ("l", Linear(weight=_arr(rng, 3, 4 * g_hw(p) ** 2), bias=None), ["f"]),
                     ("bn3", _bn(rng, 3), ["l"])], ["bn3"])
    res = fold_batchnorm(g)
    assert not res.graph.of_type(BatchNorm) and len(res.graph.of_type(ChannelAffine)) == 1
    x = _arr(rng, 5, 4, 6, 6)
    _close(res.graph, g, x)
    res2 = fold_affine(res.graph)  # bn2 moves past Flatten and folds into the Linear
    assert not res2.graph.of_type(ChannelAffine)
    _close(res2.graph, g, x)


def g_hw(p):
    return (6 + 2 * p["pad"] - p["k"]) // p["stride"] + 1


@SETTINGS
@given(conv_params)
def test_affine_folding_into_conv_exact_or_refused(p):
    rng = np.random.default_rng(p["seed"])
    g = Graph.build([("x", Input(shape=(4, 6, 6)), []), ("a", ChannelAffine(scale=_arr(rng, 4), shift=_arr(rng, 4)), ["x"]),
                     ("c", _conv(rng, 4, 6, p), ["a"])], ["c"])
    res = fold_affine(g)
    folded = not res.graph.of_type(ChannelAffine)
    assert folded == (p["pad"] == 0)  # zero padding + shift: refused (not exact), and said why
    if not folded:
        assert "not exact" in res.changes[-1]
    x = _arr(rng, 5, 4, 6, 6)
    _close(res.graph, g, x)


@SETTINGS
@given(st.integers(0, 2 ** 16), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.booleans(),
       st.sampled_from(["relu", "relu6"]))
def test_maxpool_rewrite_is_exact(seed, k, s, pad, ceil, act):
    pad = min(pad, k // 2)
    rng = np.random.default_rng(seed)
    op = ReLU() if act == "relu" else Clip(lo=0.0, hi=0.7)
    g = Graph.build([("x", Input(shape=(3, 7, 7)), []), ("act", op, ["x"]),
                     ("pool", MaxPool2d(kernel=(k, k), stride=(s, s), padding=(pad,) * 4, ceil_mode=ceil), ["act"]),
                     ("l", Flatten(), ["pool"])], ["l"])
    res = swap_maxpool(g)
    assert [n.name for n in res.graph.nodes] == ["x", "pool", "act", "l"]
    x = _arr(rng, 4, 3, 7, 7)
    np.testing.assert_array_equal(_out(res.graph, x), _out(g, x))


def test_identity_chains_removed_exactly(rng):
    g = Graph.build([("x", Input(shape=(4,)), []), ("i1", Identity(), ["x"]), ("i2", Identity(), ["i1"]),
                     ("l", Linear(weight=_arr(rng, 2, 4), bias=_arr(rng, 2)), ["i2"]), ("i3", Identity(), ["l"])], ["i3"])
    res = remove_identity(g)
    assert [n.name for n in res.graph.nodes] == ["x", "l"] and res.graph.outputs == ("l",)
    x = _arr(rng, 3, 4)
    np.testing.assert_array_equal(_out(res.graph, x), _out(g, x))


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.5, 6.0), (0.0, 0.0)])
def test_unconvertible_clip_raises_naming_node(lo, hi):
    g = Graph.build([("x", Input(shape=(4,)), []), ("hardtanh", Clip(lo=lo, hi=hi), ["x"])], ["hardtanh"])
    with pytest.raises(UnsupportedModelError, match="'hardtanh'"):
        check_activations(g)


def test_clip_zero_inf_becomes_relu():
    g = Graph.build([("x", Input(shape=(4,)), []), ("c", Clip(lo=0.0, hi=float("inf")), ["x"])], ["c"])
    assert check_activations(g).graph.node("c").type == "ReLU"
