"""Graph files round-trip every op type exactly (hypothesis), in strict JSON; op arrays are read-only.

Every op type in ``OP_TYPES`` has a strategy below (a new op without one fails
``test_every_op_type_has_a_strategy``). Float attributes range over all
floats, +-inf and NaN included; arrays over all float32 values. The oracle is
the op as built: the reloaded op must have the same type, inputs, shape,
attribute values (NaN equal to NaN) and array bytes.
"""
from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from snnc.compiler.ir import (
    OP_TYPES, Add, AvgPool2d, BatchNorm, ChannelAffine, ChannelPermute, ChannelSlice, Clip, Concat, Conv2d, Flatten,
    GlobalAvgPool2d, Graph, Identity, IFNeuron, Input, Linear, MaxPool2d, Pad, ReLU, Reshape, Resize, SigmaDeltaNeuron, from_bytes,
    to_bytes,
)

C, H, W = 2, 4, 5
X = (C, H, W)
anyfloat = st.floats(allow_nan=True, allow_infinity=True)
small = st.integers(1, 3)


def arr(*shape):
    return hnp.arrays(np.float32, shape, elements=st.floats(width=32, allow_nan=True, allow_infinity=True))


def pair(lo=1, hi=2):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


pads = st.tuples(*[st.integers(0, 1)] * 4)
S = st.sampled_from

# op type -> strategy of (op, per-sample input shapes)
BUILDERS = {
    "Input": st.tuples(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)).map(lambda t: (Input(t[0]), [])),
    "Conv2d": st.builds(lambda w, b, s, p, d: (Conv2d(w, b, s, p, d), [X]), arr(3, C, 2, 2),
                        st.none() | arr(3), pair(), pads, pair(1, 1)),
    "Linear": st.builds(lambda w, b: (Linear(w, b), [(6,)]), arr(3, 6), st.none() | arr(3)),
    "BatchNorm": st.builds(lambda g, b, m, v, e: (BatchNorm(g, b, m, v, e), [X]), arr(C), arr(C), arr(C),
                           hnp.arrays(np.float32, C, elements=st.floats(0.5, 1024, width=32)),
                           st.floats(0, 1)),  # variance + epsilon > 0: the op is defined
    "ChannelAffine": st.builds(lambda s, t: (ChannelAffine(s, t), [X]), arr(C) | arr(1), arr(C) | arr(1)),
    "ReLU": st.just((ReLU(), [X])),
    "Clip": st.builds(lambda lo, hi: (Clip(lo, hi), [X]), anyfloat, anyfloat),
    "Identity": st.just((Identity(), [X])),
    "MaxPool2d": st.builds(lambda k, s, p, c, m: (MaxPool2d(k, s, p, (1, 1), c, m), [X]), pair(2, 3), pair(), pads,
                           st.booleans(), S(["pre-neuron", "cumulative"])),
    "AvgPool2d": st.builds(lambda k, s, p, c, i: (AvgPool2d(k, s, p, c, i), [X]), pair(2, 3), pair(), pads,
                           st.booleans(), st.booleans()),
    "GlobalAvgPool2d": st.just((GlobalAvgPool2d(), [X])),
    "Flatten": st.just((Flatten(), [X])),
    "Reshape": S([(C * H * W,), (C, H * W), (H, C, W), (1, C * H, W)]).map(lambda s: (Reshape(s), [X])),
    "ChannelPermute": st.permutations(range(3)).map(lambda p: (ChannelPermute(np.asarray(p, np.int64)), [(3, 2, 2)])),
    "ChannelSlice": st.tuples(st.integers(0, 2), st.integers(1, 3)).filter(lambda t: t[0] < t[1]).map(
        lambda t: (ChannelSlice(*t), [(3, 2, 2)])),
    "Add": small.map(lambda n: (Add(), [X] * (n + 1))),
    "Concat": st.lists(small, min_size=1, max_size=3).map(lambda cs: (Concat(), [(c, H, W) for c in cs])),
    "Pad": st.builds(lambda p, v: (Pad(p, v), [X]), pads, anyfloat),
    "Resize": st.builds(lambda s, m, c, n: (Resize(s, m, c, n), [X]), pair(1, 8), S(["nearest", "linear"]),
                        S(["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]),
                        S(["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"])),
    "IFNeuron": st.builds(lambda t, v, r: (IFNeuron(t, v, r), [X]), arr(C), arr(C), S(["subtract", "zero"])),
    "SigmaDeltaNeuron": st.builds(lambda t, s, b: (SigmaDeltaNeuron(t, np.zeros(C, np.float32), "subtract", s, b), [X]),
                                  arr(C), arr(C), st.integers(1, 24)),
}


def test_every_op_type_has_a_strategy():
    assert set(BUILDERS) == set(OP_TYPES)


def graph_of(op, shapes) -> Graph:
    if isinstance(op, Input):
        return Graph.build([("x", op, [])], ["x"])
    spec = [(f"in{i}", Input(s), []) for i, s in enumerate(shapes)]
    return Graph.build(spec + [("op", op, [f"in{i}" for i in range(len(shapes))])], ["op"], {"bound": math.inf})


def same(a, b) -> bool:
    """Equal values of the same type; NaN equals NaN; tuples element-wise."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


def strict(text: str):
    def refuse(token):
        raise AssertionError(f"non-JSON token {token} in the graph file")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_op_round_trips_exactly(name):
    @settings(max_examples=15, deadline=None)
    @given(BUILDERS[name])
    def check(case):
        op, shapes = case
        g = graph_of(op, shapes)
        data = to_bytes(g)
        strict(zipfile.ZipFile(io.BytesIO(data)).read("graph.json"))
        back = from_bytes(data)
        assert to_bytes(back) == data
        assert back.meta == g.meta and back.outputs == g.outputs
        for n, m in zip(g.nodes, back.nodes):
            assert (n.name, n.type, n.inputs, n.shape) == (m.name, m.type, m.inputs, m.shape)
            a, b = n.op.attrs(), m.op.attrs()
            assert a.keys() == b.keys() and all(same(a[k], b[k]) for k in a), (a, b)
            x, y = n.op.arrays(), m.op.arrays()
            assert x.keys() == y.keys()
            for k in x:
                assert x[k].dtype == y[k].dtype and x[k].shape == y[k].shape and x[k].tobytes() == y[k].tobytes()
    check()


def test_clip_to_infinity_is_strict_json():
    g = graph_of(Clip(0.0, math.inf), [X])
    doc = strict(zipfile.ZipFile(io.BytesIO(to_bytes(g))).read("graph.json"))
    clip = next(n for n in doc["nodes"] if n["op"] == "Clip")
    assert clip["attrs"] == {"lo": 0.0, "hi": {"$float": "inf"}} and doc["meta"] == {"bound": {"$float": "inf"}}
    assert from_bytes(to_bytes(g)).node("op").op.hi == math.inf


def test_op_arrays_are_read_only_and_the_callers_array_is_untouched():
    w = np.ones((3, 6), np.float32)
    op = Linear(w, None)
    with pytest.raises(ValueError, match="read-only"):
        op.weight[0, 0] = 5.0
    w[0, 0] = 2.0  # the caller's array stays writeable
    assert w.flags.writeable and not op.weight.flags.writeable
    back = from_bytes(to_bytes(graph_of(op, [(6,)]))).node("op").op
    assert not back.weight.flags.writeable
