"""Lava backend (floating and fixed point) against independent NumPy references."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError

from .lava_nets import avgpool_net, concat_net, residual_pool_net, shifted_residual_net, transition_net

T = 12


def _counts(res):
    return {l.name: np.asarray(l.spikes_per_step) * res.activity.samples for l in res.activity.layers}


def _sops(res):
    return {l.name: np.asarray(l.sop_per_step) for l in res.activity.layers}


def test_float_residual_maxpool_equals_numpy_simulator(lava, rng):
    from snnc.runtime.backends import get_backend
    g = residual_pool_net(rng)
    x = rng.random((24, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 24)
    ref = get_backend("numpy").run(g, x, [6, T], y=y)
    got = get_backend("lava").run(g, x, [6, T], y=y)
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=f"spikes of layer {k}")
        np.testing.assert_allclose(_sops(got)[k], _sops(ref)[k], err_msg=f"SOPs of layer {k}")
    for t in (6, T):
        np.testing.assert_allclose(got.logits[t], ref.logits[t], atol=1e-5)
        np.testing.assert_array_equal(got.predictions(t), ref.predictions(t))
        assert got.accuracy[t] == ref.accuracy[t]
    assert sum(_counts(ref)["n3"]) > 0 and sum(_counts(ref)["n4"]) > 0  # deep layers do fire
    assert got.activity.first_layer_convention == "once"


@pytest.mark.parametrize("fused", [True, False])
def test_float_avgpool_equals_numpy_simulator(lava, rng, monkeypatch, fused):
    """Pools fused into the next synapse, or (fusion off) each as a depthwise Conv of weights 1/k^2."""
    from snnc.runtime.backends import get_backend
    from snnc.compiler.lower import plan
    if not fused:  # the forked Lava worker inherits the patch
        monkeypatch.setattr(plan, "fuse_avgpools", lambda g, skip=(): (g, []))
    g = avgpool_net(rng)
    x = rng.random((20, 1, 8, 8)).astype(np.float32)
    ref = get_backend("numpy").run(g, x, T)
    got = get_backend("lava").run(g, x, T)
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=f"spikes of layer {k}")
        np.testing.assert_allclose(_sops(got)[k], _sops(ref)[k], err_msg=f"SOPs of layer {k}")
    np.testing.assert_allclose(got.logits[T], ref.logits[T], atol=1e-5)
    assert len(got.lava.fusions) == (2 if fused else 0)


def test_gap_classifier_and_transition_float_and_fixed(lava, rng):
    """conv -> avgpool -> IF and IF -> GAP -> dense: float Lava = NumPy simulator, fixed = NumPy fixed reference."""
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = transition_net(rng)
    x = rng.random((20, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    ref = get_backend("numpy").run(g, x, T, y=y)
    got = get_backend("lava").run(g, x, T, y=y)
    assert set(_counts(got)) == set(_counts(ref)) == {"n1", "n2", "n3"}
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=f"spikes of layer {k}")
        np.testing.assert_allclose(_sops(got)[k], _sops(ref)[k], err_msg=f"SOPs of layer {k}")
        assert v.sum() > 0
    np.testing.assert_array_equal(got.predictions(T), ref.predictions(T))
    assert got.accuracy[T] == ref.accuracy[T]
    assert [f.split(":")[0] for f in got.lava.fusions] == ["c2 -> t2", "g -> out"]
    fx = run_lava(g, x[:10], T, fixed=True, timeout=300)
    trace, spikes, sat = Reference(g, fixed=True).run(x[:10], T)
    for k, v in spikes.items():
        np.testing.assert_array_equal(fx.spikes[k], v, err_msg=f"fixed spikes of layer {k}")
    np.testing.assert_array_equal(fx.trace, trace)
    assert fx.saturated == sat and "out" in fx.numerics["layers"]


def test_fixed_point_refuses_an_unfused_avgpool_by_name(lava, rng, monkeypatch):
    from snnc.compiler.lower import plan
    from snnc.runtime.lava import runner
    monkeypatch.setattr(plan, "fuse_avgpools", lambda g, skip=(): (g, []))
    with pytest.raises(BackendError, match="'a1'.*could not be fused"):
        runner.run_lava(avgpool_net(rng), rng.random((2, 1, 8, 8)), 4, fixed=True, timeout=120)


def test_fixed_point_bit_exact_against_numpy_fixed_reference(lava, rng):
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = residual_pool_net(rng)
    x = rng.random((20, 1, 8, 8)).astype(np.float32)
    got = run_lava(g, x, T, fixed=True, timeout=300)
    trace, spikes, sat = Reference(g, fixed=True).run(x, T)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=f"spikes of layer {k}")
    np.testing.assert_array_equal(got.trace, trace)
    assert got.saturated == sat
    layers = got.numerics["layers"]
    assert layers["n1"]["exponent"] >= 0 and all(v["weights_clipped"] == 0 for v in layers.values())


@pytest.mark.parametrize("conv_scale, gain_scale", [(2.0 ** -5, 1.0), (1.0, 2.0 ** -5)])
def test_fixed_point_weight_exponents_bit_exact(lava, rng, conv_scale, gain_scale):
    """Residual Adds whose branches differ by 2^5: the smaller branch's synapse has its own weight exponent
    (skip gains as a depthwise Conv and a Dense, or the conv and dense branches), so Lava runs mantissas
    << k (Conv) / weight_exp (Dense); spikes and readout equal the reference's integer arithmetic."""
    from snnc.compiler.lower import NumberFormat, make_plan
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = shifted_residual_net(rng, conv_scale, gain_scale)
    plan = make_plan(g, NumberFormat(True, 8))
    small = ("skip", "skip2") if conv_scale < gain_scale else ("c3", "l2")
    assert all(plan.synapses[s].shift > 0 for s in small)
    x = rng.random((8, 1, 8, 8)).astype(np.float32)
    got = run_lava(g, x, T, fixed=True, timeout=300)
    trace, spikes, sat = Reference(g, fixed=True).run(x, T)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=f"spikes of layer {k}")
        assert v.sum() > 0, k
    np.testing.assert_array_equal(got.trace, trace)
    assert got.saturated == sat


def test_unsupported_op_names_the_node(lava, rng):
    """A Concat of a current and spikes read through a Flatten: no one-synapse form, no Lava process."""
    from snnc.compiler.ir import Graph
    from snnc.compiler.passes.base import rebuild, spec_of
    from snnc.runtime.lava.runner import run_lava
    g = concat_net(rng)
    g = rebuild(g, [(n, op, ("c2", "n2") if n == "cat" else ins) for n, op, ins in spec_of(g)])
    assert isinstance(g, Graph)
    with pytest.raises(BackendError, match="'cat'.*Concat"):
        run_lava(g, rng.random((2, 1, 4, 4)), 4, timeout=120)


def _stem_pool_net(rng):
    """The direct-coded stem conv -> pre-neuron max pool runs on the host; a cumulative pool on chip."""
    from snnc.compiler.ir import Graph
    from snnc.compiler.ir.ops import Conv2d, Flatten, IFNeuron, Input, Linear, MaxPool2d
    from .lava_nets import dyadic
    one, half = (lambda c: np.ones(c, np.float32)), (lambda c: np.full(c, 0.5, np.float32))
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", Conv2d(dyadic(rng.normal(0, .8, (4, 1, 3, 3))), dyadic(rng.normal(.1, .1, 4)),
                          padding=(1, 1, 1, 1)), ["x"]),
            ("p1", MaxPool2d(), ["c1"]), ("n1", IFNeuron(one(4), half(4)), ["p1"]),
            ("c2", Conv2d(dyadic(rng.normal(0, .5, (4, 4, 3, 3))), dyadic(rng.normal(0, .1, 4)),
                          padding=(1, 1, 1, 1)), ["n1"]),
            ("p2", MaxPool2d(mode="cumulative"), ["c2"]), ("n2", IFNeuron(one(4), half(4)), ["p2"]),
            ("f", Flatten(), ["n2"]), ("out", Linear(dyadic(rng.normal(0, .5, (3, 16))), None), ["f"])]
    return Graph.build(spec, ["out"])


def test_host_stem_with_pool_float_and_fixed(lava, rng):
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = _stem_pool_net(rng)
    x = rng.random((8, 1, 8, 8)).astype(np.float32)
    ref = get_backend("numpy").run(g, x, 8)
    got = get_backend("lava").run(g, x, 8)
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=k)
    fx = run_lava(g, x, 8, fixed=True, timeout=120)
    trace, spikes, _ = Reference(g, fixed=True).run(x, 8)
    np.testing.assert_array_equal(fx.trace, trace)
    assert {k: v.tolist() for k, v in fx.spikes.items()} == {k: v.tolist() for k, v in spikes.items()}
