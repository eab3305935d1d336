"""Dyadic random graphs covering every op of the torch lowering table (exact in float32 and float64).

Weights are multiples of 1/16, inputs of 1/16, BatchNorm variances powers of 4 with eps = 0,
average pools and resizes divide by powers of 2 only: every value the simulators compute
is exactly representable, so float32 (NumPy) and float64 (torch) spikes agree bit for bit
on any machine, whatever the summation order.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import (
    Add, AvgPool2d, BatchNorm, ChannelAffine, ChannelPermute, ChannelSlice, Clip, Concat, Conv2d, Flatten,
    GlobalAvgPool2d, Graph, Identity, Input, Linear, MaxPool2d, Pad, ReLU, Reshape, Resize,
)

from .test_numpy_sim import dyadic, neuron


def every_op_graph(rng, reset="subtract", pool_mode="cumulative") -> Graph:
    """All ops, before the first neuron (static) and after it (time-varying)."""
    c = lambda o, i, k, s=0.5, **kw: Conv2d(dyadic(rng, (o, i, k, k)) * s, dyadic(rng, (o,), -2, 2), **kw)
    bn = BatchNorm(dyadic(rng, (4,), 8, 16), dyadic(rng, (4,), -2, 2), dyadic(rng, (4,), -4, 4),
                   (4.0 ** rng.integers(-1, 2, 4)).astype(np.float32), eps=0.0)
    return Graph.build([
        ("x", Input((2, 8, 8)), []),
        ("c1", c(4, 2, 3, padding=(1, 0, 1, 2)), ["x"]),                               # asymmetric padding
        ("bn", bn, ["c1"]),
        ("mp0", MaxPool2d((3, 3), (2, 2), (1, 1, 1, 1), ceil_mode=True, mode=pool_mode), ["bn"]),   # static pool
        ("n1", neuron(4, reset), ["mp0"]),                                             # (4, 5, 5)
        ("pad", Pad((1, 0, 0, 1), 0.0), ["n1"]),                                       # (4, 6, 6)
        ("c2", c(6, 2, 3, padding=(1, 1, 1, 1), groups=2), ["pad"]),
        ("rl", ReLU(), ["c2"]),
        ("cl", Clip(-0.5, 2.0), ["c2"]),
        ("id", Identity(), ["cl"]),
        ("aff", ChannelAffine(dyadic(rng, (6,), 8, 16), dyadic(rng, (6,), -2, 2)), ["rl"]),
        ("add", Add(), ["aff", "id", "c2"]),                                           # three inputs
        ("n2", neuron(6, reset, 0.75), ["add"]),
        ("perm", ChannelPermute(rng.permutation(6).astype(np.int64)), ["n2"]),
        ("sl", ChannelSlice(1, 5), ["perm"]),                                          # (4, 6, 6)
        ("c3", c(4, 4, 3, 1.0, padding=(1, 1, 1, 1), dilation=(2, 2)), ["sl"]),       # (4, 4, 4)
        ("mp", MaxPool2d((2, 2), (1, 1), (0, 0, 1, 1), dilation=(1, 1), mode=pool_mode), ["c3"]),   # time-varying
        ("n3", neuron(4, reset), ["mp"]),                                              # (4, 4, 4)
        ("ap", AvgPool2d((2, 2), (2, 2), (1, 1, 1, 1), ceil_mode=True, count_include_pad=False), ["n3"]),  # (4,3,3)
        ("ap2", AvgPool2d((2, 2), (2, 2), (0, 0, 0, 0), count_include_pad=True), ["n3"]),   # (4, 2, 2)
        ("rs", Resize((4, 4), "nearest", "asymmetric", "floor"), ["ap2"]),
        ("rl2", Resize((8, 8), "linear", "asymmetric"), ["rs"]),
        ("c4", c(4, 4, 3, 1.0, stride=(2, 2), padding=(1, 1, 1, 1)), ["rl2"]),        # (4, 4, 4)
        ("cat", Concat(), ["c4", "n3"]),                                               # (8, 4, 4)
        ("n4", neuron(8, reset), ["cat"]),
        ("gap", GlobalAvgPool2d(), ["n4"]),                                            # (8, 1, 1)
        ("rsh", Reshape((2, 2, 2)), ["gap"]),
        ("f", Flatten(), ["rsh"]),
        ("f2", Flatten(), ["ap"]),                                                     # (36,)
        ("l0", Linear(dyadic(rng, (8, 36)), None), ["f2"]),
        ("cat2", Concat(), ["f", "l0"]),                                               # (16,)
        ("n5", neuron(16, reset), ["cat2"]),
        ("out", Linear(dyadic(rng, (5, 16)), dyadic(rng, (5,))), ["n5"]),
    ], ["out"])


def every_op_input(rng, n):
    return dyadic(rng, (n, 2, 8, 8), 0, 24)
