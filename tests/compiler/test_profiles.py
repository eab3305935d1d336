"""Hardware profiles: every bundled file validates; every kind of mistake is a HardwareError naming file and key."""
import json
import sys
from pathlib import Path

import pytest

from snnc.cli import main
from snnc.compiler.errors import HardwareError
from snnc.compiler.hardware import list_profiles, load_profile
from snnc.hardware_profiles import PROFILE_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

EXPECTED = {"loihi2", "loihi", "truenorth", "spinnaker2", "tianjic", "seed-generic", "cmos45"}


def test_bundled_profiles_load_and_match_their_file_names():
    profiles = {p.name: p for p in list_profiles()}
    assert EXPECTED <= set(profiles)
    for name, p in profiles.items():
        assert p.path.stem == name
        for c in p.constants.values():
            assert c.low <= c.value <= c.high and c.source and c.confidence


def test_default_is_loihi2_and_its_energies_are_declared_assumed():
    p = load_profile()
    assert p.name == "loihi2" and p.kind == "snn"
    assert "no per-operation energy" in p.notes.lower() or "published no per-operation" in p.notes.lower()
    for k in ("energy.e_sop", "energy.e_nu_active", "energy.e_nu_idle"):
        c = p.constants[k]
        assert c.confidence == "assumed" and c.uncertain


def test_published_figures_convert_to_si():
    loihi, seed, cmos = load_profile("loihi"), load_profile("seed-generic"), load_profile("cmos45")
    assert loihi.get("energy.e_sop") == pytest.approx(23.6e-12)
    assert loihi.get("timing.t_sop") == pytest.approx(3.5e-9)
    assert loihi.limit("synaptic_memory_per_core") == 128 * 1024 * 8
    assert seed.get("energy.e_sop") == pytest.approx(77e-15) and seed.get("energy.e_mac") == pytest.approx(12.5e-12)
    assert cmos.get("energy.e_mac") == pytest.approx(4.6e-12) and cmos.get("energy.e_add") == pytest.approx(0.9e-12)
    tn = load_profile("truenorth")
    assert tn.fixed_step and tn.get("timing.t_step_fixed") == pytest.approx(1e-3)
    assert tn.get("energy.e_sop") == pytest.approx(2.5e-12)  # marginal, not the all-in 26 pJ


def _write(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _loihi_text():
    return (PROFILE_DIR / "loihi.toml").read_text()


def test_user_profile_by_path(tmp_path):
    p = load_profile(str(_write(tmp_path, _loihi_text().replace('name = "loihi"', 'name = "mine"'))))
    assert p.name == "mine" and p.get("energy.e_sop") == pytest.approx(23.6e-12)


def _drop(text, key):
    """The profile text without the table ``[key]``."""
    start = text.index(f"[{key}]")
    return text[:start] + text[text.index("\n[", start) + 1:]


@pytest.mark.parametrize("edit, key, words", [
    (lambda t: t.replace("[limits.cores_per_chip]", "[limits.cores_per_chiplet]"), "limits.cores_per_chiplet",
     "unknown key"),
    (lambda t: t.split("[limits.cores_per_chip]")[0], "limits.cores_per_chip", "missing key"),
    (lambda t: t.replace('confidence = "measured"', 'confidence = "guessed"', 1), "limits.neurons_per_core",
     "bad confidence tag"),
    (lambda t: t.replace("value = 1024", 'value = "1024"'), "limits.neurons_per_core", "must be a number"),
    (lambda t: t.replace("value = 1024", "value = 1024.5"), "limits.neurons_per_core", "positive integer"),
    (lambda t: t.replace('unit = "ns"', 'unit = "cycles"', 1), "timing.t_sop", "bad unit"),
    (lambda t: t.replace("range = [5.3, 8.4]", "range = [5.3, 7.0]"), "timing.t_nu", "does not contain"),
    (lambda t: t.replace('source = "Davies et al. 2018, Table 2"\n', "", 1), "timing.t_sop", "missing field 'source'"),
    (lambda t: t.replace('kind = "snn"', 'kind = "fpga"'), "kind", "must be one of"),
    (lambda t: "colour = 'blue'\n" + t, "colour", "unknown key"),
    (lambda t: t.replace("[limits.graded_spike_bits]", "[limits.graded_spikes]"), "limits.graded_spikes", "unknown key"),
    (lambda t: _drop(t, "limits.graded_spike_bits"), "limits.graded_spike_bits", "missing key"),
    (lambda t: t.replace("value = 0\n", "value = -1\n"), "limits.graded_spike_bits", "must be >= 0"),
    (lambda t: t.replace("value = 0\n", "value = 0.5\n"), "limits.graded_spike_bits", "non-negative integer"),
])
def test_validation_errors_name_file_and_key(tmp_path, edit, key, words):
    path = _write(tmp_path, edit(_loihi_text()))
    with pytest.raises(HardwareError) as e:
        load_profile(str(path))
    assert str(path) in str(e.value) and key in str(e.value) and words in str(e.value)


def test_snn_profile_needs_a_timing_model(tmp_path):
    text = _loihi_text()
    for k in ("t_sop", "t_nu", "t_sync"):
        start = text.index(f"[timing.{k}]")
        text = text[:start] + text[text.index("\n[", start + 1) + 1:]
    with pytest.raises(HardwareError, match="timing"):
        load_profile(str(_write(tmp_path, text)))


def test_unknown_name_and_bad_toml(tmp_path):
    with pytest.raises(HardwareError, match="bundled profiles"):
        load_profile("loihi3")
    with pytest.raises(HardwareError, match="not valid TOML"):
        load_profile(str(_write(tmp_path, "name = [")))
    with pytest.raises(HardwareError, match="no such"):
        load_profile(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_target_name_is_refused_not_the_default(name, tmp_path, capsys):
    from snnc.cli import main
    with pytest.raises(HardwareError, match="name is empty; choose one of .*loihi2"):
        load_profile(name)
    assert load_profile(None).name == "loihi2"
    model = str(Path(__file__).resolve().parents[2] / "examples" / "mnist_cnn.onnx")
    assert main(["compile", model, "--calib", "mnist", "--target", name, "-o", str(tmp_path / "m.snnc")]) == 8
    assert "name is empty" in capsys.readouterr().err and not (tmp_path / "m.snnc").exists()


def test_every_bundled_file_is_plain_toml_with_sources():
    for path in PROFILE_DIR.glob("*.toml"):
        doc = tomllib.loads(path.read_text())
        for section in ("energy", "timing", "power", "limits"):
            for k, c in doc.get(section, {}).items():
                assert c["source"].strip(), f"{path.name}: {section}.{k} has no source"


def test_cli_profiles_table_and_json(capsys, tmp_path):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in EXPECTED:
        assert name in out
    assert "assumed" in out and "measured" in out
    assert main(["profiles", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {p["name"]: p for p in doc["profiles"]}
    assert names["loihi"]["constants"]["energy.e_sop"]["confidence"] == "simulated"
    bad = _write(tmp_path, _loihi_text().replace('unit = "pJ"', 'unit = "kcal"', 1))
    assert main(["profiles", "--profile", str(bad)]) == 8
    assert "energy.e_sop" in capsys.readouterr().err


# ---- range bounds carry their own source and confidence -----------------------------------------

def test_every_range_bound_has_a_source_and_a_confidence():
    for p in list_profiles():
        for k, c in p.constants.items():
            assert bool(c.bounds) == c.uncertain, (p.name, k)
            for (src, conf), w in zip(c.bounds, ("low", "high")):
                assert src.strip() and conf in ("measured", "simulated", "derived", "vendor", "assumed")
                if conf == "assumed":   # an assumed bound says why (or points at the bound it copies)
                    assert src.startswith(("assumed:", "equal to")), (p.name, k, w, src)
    e_sop = load_profile("loihi").constants["energy.e_sop"]
    assert e_sop.bounds[0][1] == "simulated" and e_sop.bounds[1][1] == "assumed"
    assert "0.75 V" in e_sop.bounds[0][0] and "voltage" in e_sop.bounds[1][0]


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace('high_source = "Davies et al. 2018, Table 2: active neuron update 8.4 ns"\n', ""),
     "missing field 'high_source'"),
    (lambda t: t.replace('low_confidence = "simulated"', 'low_confidence = "hearsay"', 1), "bad or missing 'low_confidence'"),
    (lambda t: t.replace("range = [5.3, 8.4]\n", ""), "need a range"),
])
def test_range_bound_fields_are_validated(tmp_path, edit, words):
    path = _write(tmp_path, edit(_loihi_text()))
    with pytest.raises(HardwareError) as e:
        load_profile(str(path))
    assert str(path) in str(e.value) and words in str(e.value)


def test_cli_profiles_show_bound_sources(capsys):
    assert main(["profiles"]) == 0
    assert "23.6 [23.6-35] (simulated; high assumed)" in capsys.readouterr().out
    assert main(["profiles", "--profile", "loihi"]) == 0
    out = capsys.readouterr().out
    assert "loihi energy.e_sop high 35 pJ (assumed): assumed:" in out
    assert "loihi timing.t_sync low 113 ns (simulated): Davies et al. 2018" in out
    assert main(["profiles", "--json"]) == 0
    c = {p["name"]: p for p in json.loads(capsys.readouterr().out)["profiles"]}["truenorth"]["constants"]
    assert c["power.p_static_chip"]["range_sources"]["high"]["confidence"] == "measured"


def test_loihi_profile_reproduces_davies_2018_table_2_in_closed_form():
    """A hand-made record on one Loihi core, charged with the per-operation figures of Davies et al. 2018,
    Table 2 as hardware.md lists them (23.6 pJ per synaptic op, neuron update 81 pJ active / 52 pJ
    inactive; 3.5 ns per synaptic op, 8.4 / 5.3 ns per neuron update, barrier 113-465 ns over 1-32 tiles):

        E_dyn   = sum_t [23.6 pJ S_t + 81 pJ A_t + 52 pJ (N - A_t)]
        latency = sum_t [S_t x 3.5 ns + N_core x t_nu + t_sync]   (the busiest core)
    """
    from snnc.compiler.analysis.activity import Activity, LayerActivity
    from snnc.compiler.analysis.energy import latency, snn_dynamic
    from snnc.compiler.analysis.resources import map_graph
    from snnc.compiler.ir import Graph, IFNeuron, Input, Linear
    import numpy as np
    g = Graph.build([("x", Input((16,)), []), ("fc", Linear(np.ones((1000, 16), np.float32), None), ["x"]),
                     ("n", IFNeuron(np.ones(1000, np.float32), np.full(1000, .5, np.float32)), ["fc"]),
                     ("out", Linear(np.ones((1, 1000), np.float32), None), ["n"])], ["out"])
    prof = load_profile("loihi")
    m = map_graph(g, prof)
    assert m.layer("n").cores == 1 and m.layer("out").cores == 1
    spikes = [250.0, 500.0, 0.0]             # each spike drives the one readout synapse
    act = Activity(T=3, samples=1, source="hand-made", layers=[LayerActivity("n", 1000, spikes, spikes)],
                   first_layer_macs=0, output_neurons=1)
    pj, ns = 1e-12, 1e-9
    e = sum(23.6 * s + 81 * s + 52 * (1000 - s) + 52 * 1 for s in spikes) * pj
    assert snn_dynamic(act, prof)["dynamic"] == pytest.approx(e, rel=1e-12)
    for which, t_nu, t_sync in (("low", 5.3, 113), ("nominal", 8.4, 290), ("high", 8.4, 465)):
        steps = [max(1000 * t_nu, s * 3.5 + 1 * t_nu) + t_sync for s in spikes]    # layer n vs the readout core
        assert latency(act, prof, m, which) == pytest.approx(sum(steps) * ns, rel=1e-12), which
