"""The example model (examples/mnist_cnn.onnx, compiled with snnc.compile) on Lava vs the NumPy simulator.

Real weights, residual block, pre-neuron and cumulative max pools: floating-point
Lava must give the same spikes per layer and step and the same predictions;
fixed point must equal the NumPy integer reference bit for bit.
"""
import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    art = snnc.compile(str(example_model_path()), calib="mnist")
    data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=20)
    return art, data


def test_example_model_float_lava_equals_numpy_simulator(lava, example):
    from snnc.runtime.backends import get_backend
    art, data = example
    ref = get_backend("numpy").run(art, data.x, 16, y=data.y)
    got = get_backend("lava").run(art, data.x, 16, y=data.y)
    assert [a.name for a in got.activity.layers] == [b.name for b in ref.activity.layers] and ref.activity.layers
    for a, b in zip(got.activity.layers, ref.activity.layers):
        np.testing.assert_allclose(a.spikes_per_step, b.spikes_per_step, rtol=0, atol=1e-9, err_msg=a.name)
        np.testing.assert_allclose(a.sop_per_step, b.sop_per_step, rtol=1e-12, err_msg=a.name)
    np.testing.assert_array_equal(got.predictions(16), ref.predictions(16))
    np.testing.assert_allclose(got.logits[16], ref.logits[16], atol=1e-4)
    assert got.accuracy[16] == ref.accuracy[16] >= 0.8


def test_example_model_fixed_point_bit_exact(lava, example):
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.lava.runner import run_lava
    art, data = example
    x = data.x[:6]
    got = run_lava(art.snn, x, 8, fixed=True, timeout=600)
    trace, spikes, sat = Reference(art.snn, fixed=True).run(x, 8)
    for k, v in spikes.items():
        np.testing.assert_array_equal(got.spikes[k], v, err_msg=k)
    np.testing.assert_array_equal(got.trace, trace)
    assert got.saturated == sat
