"""Property tests of the sigma_delta pass and the B-bit quantiser against float64 closed forms.

Oracle: the quantised ANN written out in float64 from the folded graph's weights,
q_l = clip(floor(z_l / step + 1/2), 0, 2^B - 1), z_l = W_l (step q_{l-1}) + b_l; codes of
pre-activations within float32 rounding of a half-step boundary (2 eps32 (|z / step| + 1))
could round either way and are excluded by ``assume``.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from snnc.compiler.errors import UsageError
from snnc.compiler.execute import run
from snnc.compiler.ir import Graph, IFNeuron, Input, Linear, SigmaDeltaNeuron
from snnc.compiler.ir.ops.neuron import activation_code
from snnc.compiler.passes.sigma_delta import to_sigma_delta

EPS = float(np.finfo(np.float32).eps)


def _folded_mlp(rng, widths):
    """Input -> (Linear -> IFNeuron(threshold 1))* -> Linear readout, as after threshold folding."""
    spec, prev = [("x", Input(shape=(widths[0],)), ())], "x"
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        w = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
        spec.append((f"fc{i}", Linear(weight=w, bias=(0.1 * rng.standard_normal(b)).astype(np.float32)), (prev,)))
        prev = f"fc{i}"
        if i < len(widths) - 2:
            c = np.ones(b, np.float32)
            spec.append((f"n{i}", IFNeuron(threshold=c, v_init=0.5 * c), (prev,)))
            prev = f"n{i}"
    return Graph.build(spec, [prev])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), bits=st.integers(1, 8), depth=st.integers(1, 3))
def test_pass_gives_the_quantised_ann(seed, bits, depth):
    rng = np.random.default_rng(seed)
    widths = [6] + [int(w) for w in rng.integers(3, 9, depth)] + [4]
    g = _folded_mlp(rng, widths)
    sd = to_sigma_delta(g, "sigma-delta", bits).graph.verify()
    neurons = [n for n in sd.nodes if isinstance(n.op, SigmaDeltaNeuron)]
    assert len(neurons) == depth and not any(type(n.op) is IFNeuron for n in sd.nodes)
    for n in neurons:
        assert n.op.bits == bits and np.all(n.op.step == np.float32(1 / (2 ** bits - 1)))
    x = rng.uniform(-1, 2, (16, widths[0])).astype(np.float32)
    a = x.astype(np.float64)
    bound = 0.0
    for node in sd.nodes[1:]:
        op = node.op
        if isinstance(op, Linear):
            terms = np.abs(a[:, None, :] * op.weight.astype(np.float64)[None]).sum(-1) + abs(op.bias.astype(np.float64))
            a = a @ op.weight.astype(np.float64).T + op.bias
            bound = (op.weight.shape[1] + 2) * EPS * terms.max()   # float32 sum of k + 1 terms
        else:
            step = float(op.step[0])
            u = a / step
            assume(np.all(np.abs(u + 0.5 - np.rint(u + 0.5)) > 2 * EPS * (np.abs(u) + 1) + bound / step))
            a = np.clip(np.floor(u + 0.5), 0, 2 ** bits - 1) * step
            bound = 0.0     # codes are exact: the error restarts at every neuron layer
    got = run(sd, x)[sd.outputs[0]]
    np.testing.assert_allclose(got, a, rtol=0, atol=max(bound, EPS * np.abs(a).max()))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2 ** 16), bits=st.integers(1, 12))
def test_quantiser_is_within_half_a_step_of_the_clip(seed, bits):
    """|step q(z) - clip(z, 0, theta)| <= step / 2 (+ float32 rounding), theta = (2^B - 1) step."""
    rng = np.random.default_rng(seed)
    step = np.float32(rng.uniform(0.01, 2.0))
    z = rng.uniform(-1, 1.3, 200).astype(np.float32) * step * (2 ** bits - 1)
    q = activation_code(z, step, bits)
    assert np.all(q == np.rint(q)) and q.min() >= 0 and q.max() <= 2 ** bits - 1
    theta = float(step) * (2 ** bits - 1)
    err = np.abs(q.astype(np.float64) * float(step) - np.clip(z.astype(np.float64), 0, theta))
    assert np.all(err <= float(step) * (0.5 + 4 * EPS * (2 ** bits)))


def test_if_leaves_the_graph_and_bad_options_are_refused():
    g = _folded_mlp(np.random.default_rng(0), [4, 3, 2])
    assert to_sigma_delta(g, "if").graph is g
    with pytest.raises(UsageError):
        to_sigma_delta(g, "sigma-delta", 0)
    with pytest.raises(UsageError):
        to_sigma_delta(g, "graded", 8)
