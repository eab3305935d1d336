"""Hardware profiles: every bundled file validates; every kind of mistake is a HardwareError naming file and key."""
import json
import sys

import pytest

from snnc.compiler.cli import main
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
