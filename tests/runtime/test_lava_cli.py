"""``snnc run`` (numpy and lava backends) and ``snnc export --format netx`` on the command line."""
import json

import numpy as np
import pytest

from snnc.compiler.artifact import Artifact
from snnc.cli import main

from .lava_nets import residual_pool_net


@pytest.fixture
def model_and_data(tmp_path, rng):
    g = residual_pool_net(rng)
    path = Artifact(g, g, {"readout": {"mode": "fixed", "delay": 1}}).save(tmp_path / "res.snnc")
    data = tmp_path / "d.npz"
    np.savez(data, x=rng.random((8, 1, 8, 8)).astype(np.float32), y=rng.integers(0, 5, 8))
    return str(path), str(data)


def _run(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_run_lava_matches_run_numpy(lava, capsys, model_and_data, tmp_path):
    model, data = model_and_data
    common = [model, "--data", str(data), "--n", "8", "--T", "4,8", "--json"]
    ref = _run(capsys, "run", "--backend", "numpy", *common, "--activity-out", str(tmp_path / "np.json"))
    got = _run(capsys, "run", "--backend", "lava", *common, "--activity-out", str(tmp_path / "lava.json"))
    # the Lava run's activity record drives `snnc estimate` and gives the same figures as the NumPy one
    est = {b: _run(capsys, "estimate", model, "--activity", str(tmp_path / f"{b}.json"), "--ignore-fit", "--json")
           for b in ("np", "lava")}
    assert "lava" in est["lava"]["activity_source"] and "numpy" in est["np"]["activity_source"]
    assert est["lava"]["counts"]["sop"] == pytest.approx(est["np"]["counts"]["sop"]) and est["np"]["counts"]["sop"] > 0
    c_np, c_lava = est["np"]["counts"], est["lava"]["counts"]
    for key in ("neuron_updates", "spikes", "first_layer_macs_with_padding"):
        assert c_lava[key] == pytest.approx(c_np[key])
    # on the host ("once") the first layer's MACs include the zero-padding taps; on chip ("per-step") the input
    # sends one event per synapse, padding taps excluded
    assert c_lava["first_layer_macs_per_step"] == c_lava["first_layer_macs_with_padding"]
    assert c_np["first_layer_macs_per_step"] < c_np["first_layer_macs_with_padding"]
    # Lava computes the direct-coded input current once per sample on the host; NumPy counts it every step
    assert (c_np["first_layer_convention"], c_lava["first_layer_convention"]) == ("per-step", "once")
    assert c_np["input_macs"] == 8 * c_np["first_layer_macs_per_step"] and c_lava["input_macs"] == c_lava["first_layer_macs_per_step"]
    assert est["lava"]["energy_j"]["nominal"] < est["np"]["energy_j"]["nominal"]
    assert got["backend"] == "lava" and ref["backend"] == "numpy"
    assert [r["T"] for r in got["sweep"]] == [r["T"] for r in ref["sweep"]] == [4, 8]
    assert [lay["layer"] for lay in got["layers"]] == [lay["layer"] for lay in ref["layers"]]
    for r, g in zip(ref["sweep"], got["sweep"]):
        assert (g["T"], g["accuracy"], g["agreement"]) == (r["T"], r["accuracy"], r["agreement"])
        assert g["sop_per_image"] == pytest.approx(r["sop_per_image"])
    assert [l["firing_rate"] for l in got["layers"]] == pytest.approx([l["firing_rate"] for l in ref["layers"]])
    assert got["lava"]["os_processes"] > got["lava"]["lava_processes"] > 10


def test_run_fixed_point_reports_quantisation_and_accuracy_change(lava, capsys, model_and_data):
    model, data = model_and_data
    got = _run(capsys, "run", model, "--data", data, "--n", "8", "--T", "8", "--fixed-point", "--json")
    assert got["backend"] == "lava-fixed"
    layers = got["lava"]["numerics"]["layers"]
    assert set(layers) == {"n1", "n2", "n3", "n4", "out"} and layers["n1"]["vth_mantissa"] == 2 ** layers["n1"]["exponent"]
    change = got["baseline"]["change"][0]
    assert change["accuracy_change"] == pytest.approx(got["sweep"][0]["accuracy"] - got["baseline"]["sweep"][0]["accuracy"])


def test_run_rejects_lava_options_on_numpy(capsys, model_and_data):
    model, data = model_and_data
    assert main(["run", model, "--data", data, "--backend", "numpy", "--stock-lif"]) == 2
    assert "--backend lava" in capsys.readouterr().err


def test_export_netx_cli(tmp_path, capsys, rng, model_and_data, require):
    require("h5py", "SNNC_REQUIRE_LAVA")
    from .test_lava_netx import _net
    model, data = model_and_data
    assert main(["export", model, "--format", "netx", "-o", str(tmp_path / "bad.net"), "--calib", data]) == 7
    assert "MaxPool2d 'p3'" in capsys.readouterr().err
    g = _net(rng)
    ok = Artifact(g, g, {}).save(tmp_path / "ok.snnc")
    info = _run(capsys, "export", str(ok), "--format", "netx", "-o", str(tmp_path / "ok.net"), "--json",
                "--calib", data, "--T", "16")
    assert (tmp_path / "ok.net").is_file() and [l["layer"] for l in info["layers"]] == ["c1", "c2", "d1", "out"]
    assert info["layers"][-1]["readout"] and info["input_scale"] == 128
    assert (info["weight_bits"], info["weight_bits_from"]) == (8, "profile 'loihi2'")  # no target: the default
    cal = info["calibration"]
    assert (cal["data"], cal["samples"], cal["T"]) == (data, 8, 16)
    assert info["layers"][-1]["vThMant"] == cal["readout"]["vThMant"] and set(cal["hidden"]["layers"]) == {"c1", "c2", "d1"}


def test_export_calibrates_on_the_artifacts_data_or_asks_for_it(tmp_path, capsys, rng, model_and_data, require):
    require("h5py", "SNNC_REQUIRE_LAVA")
    from .test_lava_netx import _net
    _, data = model_and_data
    g = _net(rng)
    art = Artifact(g, g, {"calibration": {"data": data}}).save(tmp_path / "a.snnc")  # a path that still exists
    info = _run(capsys, "export", str(art), "-o", str(tmp_path / "a.net"), "--json", "--calib-n", "5")
    assert (info["calibration"]["data"], info["calibration"]["samples"]) == (data, 5)
    text = main(["export", str(art), "-o", str(tmp_path / "a.net")]) == 0 and capsys.readouterr().out
    assert "readout: bias shift" in text and "calibrated on" in text and "tied top count" in text
    for stored in ("calibration array", str(tmp_path / "gone.npz")):
        art = Artifact(g, g, {"calibration": {"data": stored}}).save(tmp_path / "b.snnc")
        assert main(["export", str(art), "-o", str(tmp_path / "b.net")]) == 2
        err = capsys.readouterr().err
        assert "--calib DATA" in err and repr(stored) in err and not (tmp_path / "b.net").exists()


def test_export_weight_bits_from_the_target_profile_or_the_option(tmp_path, capsys, rng, model_and_data, require):
    h5py = require("h5py", "SNNC_REQUIRE_LAVA")
    from .test_lava_netx import _net
    g, calib = _net(rng), ["--calib", model_and_data[1]]
    art = Artifact(g, g, {"target": "tianjic"}).save(tmp_path / "tianjic.snnc")  # the profile's limits.weight_bits
    info = _run(capsys, "export", str(art), "-o", str(tmp_path / "tianjic.net"), "--json", *calib)
    assert (info["weight_bits"], info["weight_bits_from"]) == (8, "profile 'tianjic'")
    art = Artifact(g, g, {"target": "truenorth"}).save(tmp_path / "truenorth.snnc")  # 2-bit weights: too coarse
    assert main(["export", str(art), "-o", str(tmp_path / "tn.net"), *calib]) == 7
    assert "with 2-bit weights" in capsys.readouterr().err
    art = str(Artifact(g, g, {"target": "loihi"}).save(tmp_path / "loihi.snnc"))  # Loihi 1: 9-bit weights
    assert main(["export", art, "-o", str(tmp_path / "l.net"), *calib]) == 7
    assert "--weight-bits 8" in capsys.readouterr().err
    info = _run(capsys, "export", art, "-o", str(tmp_path / "l.net"), "--weight-bits", "4", "--json", *calib)
    assert (info["weight_bits"], info["weight_bits_from"]) == (4, "--weight-bits")
    with h5py.File(tmp_path / "l.net", "r") as f:
        blocks = [f["layer"][str(i)] for i in range(len(f["layer"])) if "weight" in f["layer"][str(i)]]
        for b in blocks:  # 4-bit signed weights: k = floor(log2(7 / max|W|)) gives 3.5 < max|q| <= 7 (x 2 on dense)
            lim = 14 if b["type"][()].decode() == "dense" else 7
            assert lim / 2 < np.abs(b["weight"][()]).max() <= lim
    # the output path is checked before the model is read
    assert main(["export", str(tmp_path / "missing.snnc"), "-o", str(tmp_path / "no" / "x.net")]) == 3
    assert "folder" in capsys.readouterr().err
