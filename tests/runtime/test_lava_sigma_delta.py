"""Sigma-delta networks on Lava (stock lava.proc.sdn.SigmaDelta) vs the NumPy model of the same stream.

The example model compiled with --neuron sigma-delta --act-bits 8: fixed point must equal
``sd_reference`` bit for bit (readout, graded spikes and graded ops per step); floating point
must predict what the reference and the NumPy simulator (the B-bit quantised ANN) predict.
"""
import numpy as np
import pytest

from snnc.runtime.lava.sigma_delta import deltas

N, T = 4, 3


def test_deltas_send_each_sample_once_as_its_change():
    v = np.array([[1.0, 2.0], [4.0, 2.0], [4.0, -1.0]])
    d = deltas(v, 2, 7)
    assert d.shape == (2, 7)
    np.testing.assert_array_equal(d[:, [0, 2, 4]].T, [[1, 2], [3, 0], [0, -3]])
    np.testing.assert_array_equal(np.cumsum(d, axis=1)[:, [1, 3, 5]].T, v)
    assert not d[:, [1, 3, 5, 6]].any()


@pytest.fixture(scope="module")
def sd_example():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    art = snnc.compile(str(example_model_path()), calib="mnist", neuron="sigma-delta", act_bits=8)
    data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=N)
    return art, data


@pytest.mark.slow
def test_sigma_delta_fixed_point_bit_exact(lava, sd_example):
    from snnc.runtime.lava.runner import run_lava
    from snnc.runtime.lava.sd_reference import SDReference
    art, data = sd_example
    got = run_lava(art.snn, data.x, T, fixed=True, timeout=600)
    trace, spikes, ops = SDReference(art.snn, fixed=True).run(data.x, T)
    assert got.process_types["stock"] and "SigmaDelta" in got.process_types["stock"]
    assert set(got.spikes) == set(spikes) and len(spikes) == 4
    for k in spikes:
        np.testing.assert_array_equal(got.spikes[k], spikes[k], err_msg=k)
        np.testing.assert_array_equal(got.sops[k], ops[k], err_msg=k)
    np.testing.assert_array_equal(got.trace, trace)


@pytest.mark.slow
def test_sigma_delta_float_lava_predicts_like_reference_and_simulator(lava, sd_example):
    import snnc
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.sd_reference import SDReference
    art, data = sd_example
    got = get_backend("lava").run(art, data.x, T, y=data.y)
    trace, _, _ = SDReference(art.snn).run(data.x, T)
    sim = snnc.simulate(art, data.x, T, y=data.y)
    assert got.activity.payload_bits == 9 and got.activity.source == "lava-sigma-delta"
    np.testing.assert_array_equal(got.predictions(T), trace[:, -1].argmax(-1))
    np.testing.assert_array_equal(got.predictions(T), sim.logits[T].argmax(-1))


def test_long_runs_restart_every_chunk_and_join(monkeypatch):
    from types import SimpleNamespace
    from snnc.runtime.lava import sigma_delta
    calls = []

    def fake(xc):
        calls.append(len(xc))
        return SimpleNamespace(trace=xc[:, None] * np.ones((1, T)), spikes={"a": np.ones(T)}, sops={"a": np.ones(T)},
                               seconds=1.0, steps=len(xc) * T, processes=3)
    x = np.arange(5.0)
    out = sigma_delta.run_chunks(fake, x, chunk=2)
    assert calls == [2, 2, 1]
    np.testing.assert_array_equal(out.trace[:, 0], x)
    assert out.spikes["a"].tolist() == [3] * T and out.seconds == 3.0 and out.steps == 5 * T
