"""The example model (examples/mnist_cnn.onnx, compiled) on the torch backend vs the NumPy simulator.

Real topology (residual block, pre-neuron and cumulative max pools, a readout window):
* float64 with the weights rounded to a 2^-10 grid and the images to a 2^-8 grid, so every
  sum both simulators form is exact in float32 too: identical spikes in every layer and step;
* the real float32 weights on 1000 MNIST test images: accuracy within 0.1 point of NumPy's.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _torch(torch_one_thread):   # skip without torch (fail in CI), one thread (tests/conftest.py)
    return torch_one_thread


@pytest.fixture(scope="module")
def example():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    art = snnc.compile(str(example_model_path()), calib="mnist")
    data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=1000)
    return art, data


def _grid(a, bits):
    return None if a is None else (np.round(np.asarray(a, np.float64) * 2 ** bits) / 2 ** bits).astype(np.float32)


def test_example_identical_spikes_in_float64(example):
    from snnc.compiler.artifact import Artifact
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    art, data = example
    spec = [(n.name, replace(n.op, **{k: _grid(v, 10) for k, v in n.op.arrays().items()})
             if n.type != "IFNeuron" else n.op, n.inputs) for n in art.snn.nodes]
    snn = art.snn.rebuild(spec)
    assert {n.type for n in snn.nodes} >= {"Conv2d", "ChannelAffine", "Add", "MaxPool2d", "IFNeuron", "Linear"}
    assert {n.op.mode for n in snn.nodes if n.type == "MaxPool2d"} == {"pre-neuron", "cumulative"}
    dy = Artifact(snn, art.ann, art.meta)
    x = _grid(data.x[:24], 8)
    rec = ("spikes", "output", "counts")
    ref = np_sim(dy, x, T=[8, 24], y=data.y[:24], record=rec, show_progress=False)
    got = simulate(dy, x, T=[8, 24], y=data.y[:24], record=rec, dtype="float64", show_progress=False)
    for k, s in ref.records["spikes"].items():
        assert s.any(), k
        np.testing.assert_array_equal(got.records["spikes"][k], s, err_msg=k)
    np.testing.assert_array_equal(got.records["output"], ref.records["output"])
    for a, b in zip(ref.activity.layers, got.activity.layers):
        assert a.spikes_per_step == b.spikes_per_step and a.sop_per_step == b.sop_per_step, a.name
    assert got.delays == ref.delays and got.accuracy == ref.accuracy


def test_example_float32_accuracy_within_a_tenth_of_a_point(example):
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    art, data = example
    assert len(data) == 1000
    ref = np_sim(art, data.x, T=[8, 16, 32], y=data.y, show_progress=False)
    got = simulate(art, data.x, T=[8, 16, 32], y=data.y, show_progress=False)
    for T in (8, 16, 32):
        assert abs(got.accuracy[T] - ref.accuracy[T]) <= 0.001, (T, got.accuracy, ref.accuracy)
    assert ref.accuracy[32] >= 0.97
