"""Executor kernels (conv: direct 1x1 / im2col / grouped / depthwise paths; tap-loop pools)
against torch.nn.functional over random shapes and attributes (hypothesis)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnc.compiler.execute import apply
from snnc.compiler.ir import AvgPool2d, Conv2d, MaxPool2d

from ..oracles import assert_f32_sums_close, conv_terms

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _exact(a, b):
    """Max-pooling picks one input: nothing is rounded."""
    np.testing.assert_array_equal(a, b)


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3, "dw"]))
    c = draw(st.integers(1, 4)) * (3 if groups == "dw" else (groups if groups != "dw" else 1))
    g = c if groups == "dw" else groups
    o = g * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple(draw(st.integers(0, 2)) for _ in range(4))
    hw = (draw(st.integers(k[0] * dil[0], 12)), draw(st.integers(k[1] * dil[1], 12)))
    return c, o, g, k, stride, dil, pad, hw, draw(st.booleans())


def conv_inputs(case, seed):
    """(input batch x, weights w, bias b or None, the Conv2d op) of a ``conv_case`` draw."""
    c, o, g, k, stride, dil, pad, hw, bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c) + hw).astype(np.float32)
    w = rng.standard_normal((o, c // g) + k).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    return x, w, b, Conv2d(w, b, stride, pad, dil, g)


@SETTINGS
@given(case=conv_case(), seed=st.integers(0, 2 ** 16))
def test_conv2d_matches_torch(torch, case, seed):
    x, w, b, op = conv_inputs(case, seed)
    F = torch.nn.functional

    def conv64(x, w, b):   # torch in float64: the exact sums to within 1e-16, terms as given
        xt = F.pad(torch.from_numpy(x.astype(np.float64)), (op.padding[1], op.padding[3], op.padding[0], op.padding[2]))
        bt = None if b is None else torch.from_numpy(b.astype(np.float64))
        return F.conv2d(xt, torch.from_numpy(w.astype(np.float64)), bt, op.stride, 0, op.dilation, op.groups).numpy()
    abs_sum = conv64(np.abs(x), np.abs(w), None if b is None else np.abs(b))
    assert_f32_sums_close(apply(op, x), conv64(x, w, b), conv_terms(op), abs_sum)


@SETTINGS
@given(k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2),
       ceil=st.booleans(), hw=st.tuples(st.integers(7, 13), st.integers(7, 13)), seed=st.integers(0, 2 ** 16))
def test_maxpool_matches_torch(torch, k, s, p, d, ceil, hw, seed):
    p = min(p, k // 2)
    x = np.random.default_rng(seed).standard_normal((2, 3) + hw).astype(np.float32)
    op = MaxPool2d((k, k), (s, s), (p, p, p, p), (d, d), ceil)
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil_mode=ceil)
    _exact(apply(op, x), ref.numpy())


@SETTINGS
@given(k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), ceil=st.booleans(), inc=st.booleans(),
       hw=st.tuples(st.integers(4, 13), st.integers(4, 13)), seed=st.integers(0, 2 ** 16))
def test_avgpool_matches_torch(torch, k, s, p, ceil, inc, hw, seed):
    p = min(p, k // 2)
    x = np.random.default_rng(seed).standard_normal((2, 3) + hw).astype(np.float32)
    op = AvgPool2d((k, k), (s, s), (p, p, p, p), ceil, inc)
    ref = torch.nn.functional.avg_pool2d(torch.from_numpy(x.astype(np.float64)), k, s, p, ceil_mode=ceil,
                                         count_include_pad=inc).numpy()
    abs_sum = torch.nn.functional.avg_pool2d(torch.from_numpy(np.abs(x).astype(np.float64)), k, s, p, ceil_mode=ceil,
                                             count_include_pad=inc).numpy()
    assert_f32_sums_close(apply(op, x), ref, k * k + 1, abs_sum)   # k*k terms and the division


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_output_is_float32_contiguous(rng, dtype):
    x = rng.standard_normal((2, 4, 6, 6)).astype(dtype)
    y = apply(Conv2d(np.ones((3, 4, 1, 1), np.float32), None), x)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    want = np.broadcast_to(x.astype(np.float64).sum(1, keepdims=True), y.shape)
    assert_f32_sums_close(y, want, 4, np.abs(x).sum(1, keepdims=True))
