"""24-bit overflow of the fixed-point synaptic sums: the static worst case per layer (the formula of
runtime/lava/overflow.py recomputed here by hand) and the wraps the NumPy reference counts."""
import math

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Conv2d, Flatten, IFNeuron, Input, Linear
from snnc.runtime.lava.numerics import FixedPoint
from snnc.runtime.lava.reference import Reference

from .lava_nets import residual_pool_net


def _q(w, bits, k):
    """w quantised at exponent k (one per layer, or one per output channel along axis 0)."""
    lim, w = 2 ** (bits - 1), np.asarray(w, np.float64)
    k = np.asarray(k).reshape(np.shape(k) + (1,) * (w.ndim - np.ndim(k)))
    return np.clip(np.round(w * 2.0 ** k), -lim, lim - 1)


def test_worst_case_per_layer_follows_the_formula(rng):
    g = residual_pool_net(rng)
    num = FixedPoint(g, 8)
    rep = num.report()
    assert rep["warnings"] == []  # 8-bit weights, fan-in <= 36: far from 2^23
    # n3 sums c3 (conv) and skip (per-channel gain) through the Add: worst(n3) = worst(c3) + worst(skip)
    for sink, syns in {"n2": ["c2"], "n3": ["c3", "skip"], "n4": ["c4"], "out": ["out"]}.items():
        k = num.exps[sink]
        want = 0
        for s in syns:
            op = g.node(s).op
            w = op.scale if s == "skip" else op.weight
            a = np.abs(_q(w, 8, k))
            want += int(a.max() if s == "skip" else a.reshape(a.shape[0], -1).sum(axis=1).max())
        assert rep["overflow"][sink]["worst_input"] == want > 0, sink
    assert "c1" not in str(rep["overflow"])  # the first conv runs on the host (its currents are clipped instead)


def _wrap_net():
    """c2 sums 64 x 33 x 33 spikes with 9-bit weights of 128: 8,921,088 >= 2^23 wraps Lava's Conv."""
    spec = [("x", Input((1, 33, 33)), []),
            ("c1", Conv2d(np.ones((64, 1, 1, 1), np.float32), np.full(64, 2.0, np.float32)), ["x"]),
            ("n1", IFNeuron(np.ones(64, np.float32), np.full(64, 0.5, np.float32)), ["c1"]),
            ("c2", Conv2d(np.ones((1, 64, 33, 33), np.float32), None), ["n1"]),
            ("n2", IFNeuron(np.ones(1, np.float32), np.full(1, 0.5, np.float32)), ["c2"]),
            ("f", Flatten(), ["n2"]), ("out", Linear(np.ones((2, 1), np.float32), None), ["f"])]
    return Graph.build(spec, ["out"])


def test_conv_wrap_is_warned_and_counted():
    g = _wrap_net()
    num = FixedPoint(g, 9)
    k = math.floor(math.log2(255 / 1.0))
    assert num.exps["n2"] == k == 7
    rep = num.report()
    worst = 64 * 33 * 33 * 2 ** k
    assert rep["overflow"]["n2"]["worst_input"] == worst >= 2 ** 23
    assert len(rep["warnings"]) == 1 and "'n2'" in rep["warnings"][0] and "'c2'" in rep["warnings"][0]
    ref = Reference(g, fixed=True, weight_bits=9)
    _, spikes, _ = ref.run(np.zeros((1, 1, 33, 33), np.float32), 3)
    assert spikes["n1"].tolist() == [64 * 33 * 33] * 3  # every n1 neuron fires at every step
    assert ref.wrapped == {"n1": 0, "n2": 3, "out": 0}  # the one c2 output wraps at every step
    assert spikes["n2"].sum() == 0  # the wrapped sum is negative: n2 never fires
