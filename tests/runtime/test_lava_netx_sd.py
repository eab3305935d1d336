"""netx export of a sigma-delta chain ('SDNN' blocks): the file's layout, what it refuses, and the round trip
through lava-dl netx on Lava (bit for bit against snnc's NumPy model of the file)."""
import numpy as np
import pytest

from snnc.compiler.errors import BackendError
from snnc.runtime.lava.netx_sd import NetxSD, export_sd, sd_blocks, sd_chain


@pytest.fixture(scope="module")
def sd_chain_art():
    import snnc
    from snnc.compiler.data.mnist import load_split
    from .lava_nets import mnist_chain_onnx
    calib = load_split("train")[0][-200:]
    return snnc.compile(mnist_chain_onnx(), calib=calib, method="ltb", neuron="sigma-delta", act_bits=8)


def test_sdnn_blocks_follow_netx_units(sd_chain_art):
    layers, blocks, ib = sd_blocks(sd_chain_art.snn)
    assert [k for k, _, _ in layers] == ["input", "conv", "conv", "flatten", "dense"]
    first, readout = blocks[0], blocks[-1]
    assert first.unit == 12 + 8 and first.vth == 1          # one step = vThMant << 12 in units 2**-20
    assert readout.readout and readout.vth == 0
    for prev, b in zip(blocks, blocks[1:]):                   # each payload is s >> 6: 6 bits fewer than sigma
        k_eff = b.unit - (prev.unit - 6)
        assert np.abs(b.weight).max() < 2 ** (7 + (b.kind == "dense")) and k_eff >= 0


def test_sdnn_file_layout(sd_chain_art, tmp_path, require):
    h5py = require("h5py", "SNNC_REQUIRE_LAVA")
    info = export_sd(sd_chain_art.snn, tmp_path / "sd.net")
    with h5py.File(tmp_path / "sd.net") as f:
        kinds = [f[f"layer/{i}/type"][()].decode() for i in range(len(f["layer"]))]
        assert kinds == ["input", "conv", "conv", "flatten", "dense"]
        assert f["layer/1/neuron/type"][()].decode() == "SDNN" and "sigma_output" in f["layer/4/neuron"]
        assert "bias" not in f["layer/4"]                     # netx's Sigma has no bias: added on the host
    assert info["sigma_delta"] and info["input_bits"] == 12


def test_sdnn_export_refuses_pools_and_residuals():
    import snnc
    from snnc.compiler.data import example_model_path
    art = snnc.compile(str(example_model_path()), calib="mnist", neuron="sigma-delta", iters=5)
    # every node without an SDNN form (op trait ``netx``) named, before any block is built
    with pytest.raises(BackendError, match="netx cannot express .*MaxPool2d '3_MaxPool_output_0'.*Add '4_Add_output_0'"):
        sd_chain(art.snn)


@pytest.mark.slow
def test_sdnn_file_in_netx_equals_the_numpy_model_and_predicts_like_snnc(lava, sd_chain_art, tmp_path):
    import snnc
    from snnc.compiler.data import load_data
    from snnc.runtime.lava.netx_sd import run_netx_sd
    data, T = load_data("mnist:test", n=8), 2
    info = export_sd(sd_chain_art.snn, tmp_path / "sd.net")
    model = NetxSD(sd_chain_art.snn)
    sigma = run_netx_sd(tmp_path / "sd.net", data.x, T, info["input_bits"], timeout=600)
    last = model.blocks[-1]
    logits = (sigma + last.bias) / 2.0 ** last.unit
    np.testing.assert_array_equal(logits, model.run(data.x, T))
    sim = snnc.simulate(sd_chain_art, data.x, T)
    np.testing.assert_array_equal(logits[:, -1].argmax(-1), sim.logits[T].argmax(-1))
