"""benchmarks/validate_loihi2: the published figures it holds snnc against, and the derived constant it backs."""
import importlib

import pytest


@pytest.fixture(scope="module")
def v():
    return importlib.import_module("benchmarks.validate_loihi2")


def test_e_core_step_is_the_stated_arithmetic_on_the_one_chip_run(v):
    """loihi2.toml's energy.e_core_step = (published dynamic energy per inference - snnc's per-event energy of
    the rebuilt network at the assumed activity) / (cores x steps), at the three activities its range names."""
    from snnc.compiler.analysis import energy as en
    from snnc.compiler.analysis.resources import map_graph
    from snnc.compiler.hardware import load_profile
    prof = load_profile("loihi2")
    published = dict((k, val) for k, val, *_ in v.PUBLISHED["PilotNet SNN, 1 chip"])["dynamic energy per inference"]
    g = v.pilotnet(input_layer=True)
    m = map_graph(g, prof)
    assert m.cores == 74
    derived = {}
    for which, rate in (("nominal", 0.10), ("low", 0.20), ("high", 0.05)):   # more activity -> less left over
        f = en.snn_dynamic(v.activity(g, m, rate, 16, True), prof, "nominal", m)
        derived[which] = (published - (f["dynamic"] - f["core"])) / (m.cores * 16)
    c = prof.constants["energy.e_core_step"]
    for which in ("low", "nominal", "high"):   # the profile rounds to two significant figures
        assert prof.get("energy.e_core_step", which) == pytest.approx(derived[which], rel=0.02), which
    assert c.confidence == "derived"


def test_every_published_row_is_estimated_and_says_what_it_checks(v):
    d = v.run()
    assert set(d) == set(v.PUBLISHED)
    for name, r in d.items():
        assert r["rows"] and all(x["use"] for x in r["rows"])
        for x in r["rows"]:
            assert x["low"] <= x["nominal"] * (1 + 1e-12) and x["nominal"] <= x["high"] * (1 + 1e-12)
    # the calibrated run is not counted as a check of the constant fitted to it
    one_chip = {x["figure"]: x["use"] for x in d["PilotNet SNN, 1 chip"]["rows"]}
    assert one_chip["dynamic power"].startswith("calibrates")
    assert {x["use"] for x in d["PilotNet SNN, 8 chips"]["rows"] if x["figure"] == "dynamic power"} == {"check"}
