"""Lava backend (floating and fixed point) against independent NumPy references."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError

from .lava_nets import avgpool_net, concat_net, residual_pool_net

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


def test_float_avgpool_as_depthwise_conv_equals_numpy_simulator(lava, rng):
    from snnc.runtime.backends import get_backend
    g = avgpool_net(rng)
    x = rng.random((20, 1, 8, 8)).astype(np.float32)
    ref = get_backend("numpy").run(g, x, T)
    got = get_backend("lava").run(g, x, T)
    for k, v in _counts(ref).items():
        np.testing.assert_array_equal(_counts(got)[k], v, err_msg=f"spikes of layer {k}")
    np.testing.assert_allclose(got.logits[T], ref.logits[T], atol=1e-5)


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


def test_unsupported_op_names_the_node(lava, rng):
    from snnc.runtime.lava.runner import run_lava
    g = concat_net(rng)
    with pytest.raises(BackendError, match="'cat'.*Concat"):
        run_lava(g, rng.random((2, 1, 4, 4)), 4, timeout=120)


@pytest.mark.parametrize("fixed", [False, True])
def test_stock_lif_equals_reset_to_zero_reference(lava, rng, fixed):
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    g = residual_pool_net(rng)
    x = rng.random((6, 1, 8, 8)).astype(np.float32)
    got = run_lava(g, x, 8, fixed=fixed, stock=True, timeout=300)
    trace, spikes, _ = Reference(g, fixed=fixed, stock=True).run(x, 8)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=f"spikes of layer {k}")
    np.testing.assert_allclose(got.trace, trace, atol=1e-9)
    sub, _, _ = Reference(g, fixed=fixed).run(x, 8)
    assert not np.array_equal(sub, trace)  # reset to zero really differs from reset by subtraction
