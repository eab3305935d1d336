"""snnc.estimate / `snnc estimate` on a hand-built artifact, with both activity sources."""
import json

import numpy as np
import pytest

import snnc
from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.expected import LABEL, expected_activity
from snnc.compiler.analysis.resources import first_layer_macs
from snnc.compiler.artifact import Artifact
from snnc.cli import main
from snnc.compiler.errors import DataError, HardwareError, UsageError
from snnc.compiler.hardware import load_profile
from snnc.compiler.execute import predict
from snnc.compiler.ir import Conv2d, Flatten, Graph, IFNeuron, Input, Linear, ReLU

RATE = 0.25


def tiny_artifact(seed=0, rate=RATE):
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((3, 1, 3, 3)) * 0.5 + 0.2).astype(np.float32)
    w2 = rng.standard_normal((5, 108)).astype(np.float32)
    conv, fc = Conv2d(w1, np.zeros(3, np.float32), padding=(1, 1, 1, 1)), Linear(w2, None)
    snn = Graph.build([("x", Input((1, 6, 6)), []), ("c", conv, ["x"]),
                       ("n", IFNeuron(np.ones(3, np.float32), np.full(3, 0.5, np.float32)), ["c"]),
                       ("f", Flatten(), ["n"]), ("l", fc, ["f"])], ["l"])
    ann = Graph.build([("x", Input((1, 6, 6)), []), ("c", conv, ["x"]), ("r", ReLU(), ["c"]),
                       ("f", Flatten(), ["r"]), ("l", fc, ["f"])], ["l"])
    return Artifact(snn, ann, {"calibration": {"layers": {"n": {"expected_rate": rate}}}})


def test_pre_run_estimate_from_calibration_counts_by_hand():
    art = tiny_artifact()
    r = snnc.estimate(art, "seed-generic", T=10, ann_profile="cmos45")
    assert r["activity_source"] == LABEL == "pre-run estimate from calibration statistics"
    # 108 neurons, each spike drives 5 readout synapses; conv 3x3 pad 1 on 6x6: 16 taps per axis
    assert r["counts"]["sop"] == pytest.approx(RATE * 108 * 5 * 10)
    # on chip the input sends one event per synapse: 3 x 16 x 16, zero-padding taps excluded (the ANN's 3 x 36 x 9
    # MACs include them)
    assert r["counts"]["first_layer_macs_per_step"] == 3 * 16 * 16
    assert r["counts"]["first_layer_macs_with_padding"] == 3 * 36 * 9
    e = RATE * 108 * 5 * 10 * 77e-15 + 3 * 16 * 16 * 10 * 12.5e-12
    assert r["energy_j"]["nominal"] == pytest.approx(e)
    assert r["fps_per_watt"]["nominal"] == pytest.approx(1 / e)
    assert r["ann"]["macs"] == 3 * 36 * 9 + 540 and r["ann"]["energy_j"]["nominal"] == pytest.approx((972 + 540) * 4.6e-12)
    assert r["latency_s"]["nominal"] is None and "latency" in r["latency_note"]
    assert r["resources"]["layers"][0]["synapses"] == 3 * 16 * 16


def test_loihi2_estimate_is_a_range_with_a_per_layer_breakdown():
    r = snnc.estimate(tiny_artifact(), T=8)
    assert r["profile"] == "loihi2"
    for k in ("energy_j", "latency_s", "fps", "fps_per_watt"):
        assert r[k]["low"] < r[k]["nominal"] < r[k]["high"]
    assert [l["layer"] for l in r["per_layer"]] == ["n"]
    b = r["breakdown_j"]
    assert b["dynamic"]["nominal"] + b["static"]["nominal"] == pytest.approx(r["energy_j"]["nominal"])
    assert r["fps"]["nominal"] == pytest.approx(1 / r["latency_s"]["nominal"])
    assert any("host I/O" in x for x in r["excluded"])
    json.dumps(r.to_json())


def test_the_estimate_is_typed_and_its_json_is_the_document():
    """``estimate`` returns an Estimate: Span fields, the JSON document ``--json`` prints, read back equal."""
    from snnc.compiler.analysis.estimate_result import Estimate, Span
    r = snnc.estimate(tiny_artifact(), "loihi2", T=8, ann_profile="cmos45", host_io=True)
    assert isinstance(r, Estimate) and isinstance(r.energy_j, Span) and isinstance(r.breakdown_j["static"], Span)
    doc = r.to_json()
    assert r.energy_j.low < r.energy_j.nominal < r.energy_j.high and r.T == 8 == doc["T"]
    assert doc["energy_j"] == {"low": r.energy_j.low, "nominal": r.energy_j.nominal, "high": r.energy_j.high}
    assert dict(r) == doc and r["breakdown_j"]["static"] == r.breakdown_j["static"].to_json()
    assert Estimate.from_json(json.loads(json.dumps(doc))) == r
    assert set(doc) == {"profile", "profile_kind", "profile_source", "T", "activity_source", "profile_notes",
                        "counts", "input_cost", "energy_j", "latency_s", "fps", "fps_per_watt", "breakdown_j",
                        "host_io", "per_layer", "included", "excluded", "sensitivity", "sop_only", "latency_note",
                        "confidence", "ann", "at_accuracy", "resources"}
    no_ann = snnc.estimate(tiny_artifact(), "seed-generic", T=8, ann_profile=None).to_json()
    assert no_ann["ann"] is None and no_ann["latency_note"] is not None    # null keys are written, as before
    assert Span.of({"low": 2.0, "nominal": 1.0, "high": None}) == Span(1.0, 1.0, 2.0)
    assert Span.of({"low": None, "nominal": None}).to_json() == {"low": None, "nominal": None, "high": None}


def test_simulated_activity_matches_rate_times_fan_out():
    """The simulator's exact SOPs equal spikes x 5 (every neuron drives 5 readout synapses)."""
    art = tiny_artifact()
    x = np.random.default_rng(1).random((32, 1, 6, 6)).astype(np.float32)
    y = np.argmax(predict(art.ann, x), axis=1)
    res = snnc.simulate(art, x, T=(4, 8, 16), y=y, show_progress=False)
    act = res.activity
    act.ann_accuracy = 1.0
    assert act.first_layer_macs == first_layer_macs(art.snn)
    (lay,) = act.layers
    np.testing.assert_allclose(lay.sop_per_step, np.array(lay.spikes_per_step) * 5)
    # pre-run estimate at the measured rate gives the simulated SOP count (uniform fan-out)
    pre = expected_activity(Artifact(art.snn, art.ann, {"calibration": {"layers": {
        "n": {"expected_rate": lay.firing_rate}}}}), T=16)
    assert pre.sop == pytest.approx(act.sop)
    r = snnc.estimate(art, "loihi", activity=act)
    assert r["activity_source"].startswith("simulation (numpy, 32 samples)")
    e = (23.6e-12 * act.sop + 81e-12 * sum(lay.spikes_per_step) + 52e-12 * (108 * 16 - sum(lay.spikes_per_step))
         + 52e-12 * 5 * 16 + 23.6e-12 * 768 * 16)     # the input's 768 synaptic events per step (no padding taps)
    # routing: each spike is one message to the readout's single core, over 2/3 x sqrt(cores) mesh hops
    e += 3.5e-12 * (2 / 3) * r["resources"]["cores"] ** 0.5 * sum(lay.spikes_per_step)
    assert r["breakdown_j"]["dynamic"]["nominal"] == pytest.approx(e)
    # accuracy sweep: SOP90 / SOP95 at the first T reaching 90% / 95% of the ANN
    for frac, key in ((0.9, "90"), (0.95, "95")):
        hits = [t for t in (4, 8, 16) if res.accuracy[t] >= frac]
        got = r["at_accuracy"][key]
        if hits:
            assert got["T"] == hits[0]
            assert got["sop"] == pytest.approx(sum(lay.sop_per_step[:hits[0]]))
        else:
            assert got["reached"] is False


def test_sop90_sop95_from_a_recorded_sweep(tmp_path):
    T = 8
    act = Activity(T=T, samples=10, source="numpy", layers=[
        LayerActivity("n", 108, [10.0] * T, [float(50 * (t + 1)) for t in range(T)])],
        first_layer_macs=972, output_neurons=5, accuracy={2: 0.5, 4: 0.88, 6: 0.93, 8: 0.97}, ann_accuracy=0.98)
    act.save(tmp_path / "run.json")
    r = snnc.estimate(tiny_artifact(), "seed-generic", activity=str(tmp_path / "run.json"))
    a90, a95 = r["at_accuracy"]["90"], r["at_accuracy"]["95"]
    assert (a90["T"], a95["T"]) == (6, 8)                # 0.93 >= 0.882; 0.97 >= 0.931
    assert a90["sop"] == 50 * (1 + 2 + 3 + 4 + 5 + 6)
    assert a90["energy_j"]["nominal"] == pytest.approx(a90["sop"] * 77e-15 + 768 * 6 * 12.5e-12)
    assert a90["sop_only"]["fps_per_watt"] == pytest.approx(1 / (a90["sop"] * 77e-15))
    short = snnc.estimate(tiny_artifact(), "seed-generic", activity=act, T=4)
    assert short["T"] == 4 and short["counts"]["sop"] == 50 * 10


def test_bad_activity_and_missing_calibration():
    art = tiny_artifact()
    wrong = Activity(T=4, samples=1, source="numpy", layers=[LayerActivity("other", 108, [0] * 4, [0] * 4)])
    with pytest.raises(DataError, match="another network"):
        snnc.estimate(art, activity=wrong)
    with pytest.raises(DataError, match="expected_rate"):
        snnc.estimate(Artifact(art.snn, art.ann, {}))
    with pytest.raises(DataError, match="cannot take T=9"):
        snnc.estimate(art, activity=Activity(T=4, samples=1, source="numpy",
                                             layers=[LayerActivity("n", 108, [0] * 4, [0] * 4)]), T=9)
    with pytest.raises(HardwareError, match="ANN profile"):
        snnc.estimate(art, "cmos45")
    with pytest.raises(HardwareError, match="e_mac"):
        snnc.estimate(art, ann_profile="loihi")


def test_cli_table_json_plot_and_exit_codes(tmp_path, capsys):
    path = tiny_artifact().save(tmp_path / "t.snnc")
    assert main(["estimate", str(path), "--T", "16"]) == 0
    out = capsys.readouterr().out
    assert "pre-run estimate from calibration statistics" in out and "FPS/W" in out and "not included" in out
    assert main(["estimate", str(path), "--profile", "loihi", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["profile"] == "loihi" and doc["T"] == 32
    png = tmp_path / "e.png"
    assert main(["estimate", str(path), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["estimate", str(path), "--profile", "nope"]) == 8
    assert main(["estimate", str(tmp_path / "missing.snnc")]) == 3
    assert main(["estimate", str(path), "--T", "0"]) == 2
    Artifact(tiny_artifact().snn, tiny_artifact().ann, {}).save(tmp_path / "nocal.snnc")
    assert main(["estimate", str(tmp_path / "nocal.snnc")]) == 6
    assert "--activity" in capsys.readouterr().err


def test_network_that_does_not_fit(tmp_path, capsys):
    w1, w2 = np.ones((10, 5000), np.float32), np.ones((3, 10), np.float32)
    snn = Graph.build([("x", Input((5000,)), []), ("fc", Linear(w1, None), ["x"]),
                       ("n", IFNeuron(np.ones(10, np.float32), np.full(10, .5, np.float32)), ["fc"]),
                       ("out", Linear(w2, None), ["n"])], ["out"])
    art = Artifact(snn, snn, {"calibration": {"layers": {"n": {"expected_rate": 0.5}}}})
    with pytest.raises(HardwareError, match="max_fan_in"):
        snnc.estimate(art, "loihi")
    r = snnc.estimate(art, "loihi", ignore_fit=True)
    assert r["resources"]["fits"] is False and r["energy_j"]["nominal"] > 0
    path = art.save(tmp_path / "big.snnc")
    assert main(["estimate", str(path), "--profile", "loihi"]) == 8
    assert "max_fan_in" in capsys.readouterr().err
    assert main(["estimate", str(path), "--profile", "loihi", "--ignore-fit"]) == 0
    assert "does NOT fit" in capsys.readouterr().out


# ---- activity records are validated: one DataError naming the file and the field ----------------

def _record(T=8):
    return Activity(T=T, samples=10, source="numpy", layers=[
        LayerActivity("n", 108, [10.0] * T, [50.0] * T)], first_layer_macs=972, output_neurons=5,
        accuracy={4: 0.88, 8: 0.97}, ann_accuracy=0.98).to_json()


def _set(path, value):
    def edit(d):
        *head, last = path
        for k in head:
            d = d[k]
        if value is KeyError:
            del d[last]
        else:
            d[last] = value
    return edit


@pytest.mark.parametrize("edit, field, words", [
    (_set(["format"], "other"), "format", "not an snnc activity record"),
    (_set(["version"], 2), "version", "not supported"),
    (_set(["T"], 9), "spikes_per_step", "8 values, but T = 9"),
    (_set(["layers", 0, "sop_per_step"], [50.0] * 7), "sop_per_step", "7 values, but T = 8"),
    (_set(["T"], 0), "T", "positive integer"),
    (_set(["T"], KeyError), "T", "missing"),
    (_set(["layers", 0, "spikes_per_step", 3], -1.0), "spikes_per_step[3]", "non-negative"),
    (_set(["layers", 0, "sop_per_step", 5], -50.0), "sop_per_step[5]", "non-negative"),
    (_set(["layers", 0, "spikes_per_step", 2], 109.0), "spikes_per_step[2]", "exceed"),
    (_set(["first_layer_macs"], -972), "first_layer_macs", "non-negative"),
    (_set(["first_layer_convention"], "twice"), "first_layer_convention", "'twice' is not one of"),
    (_set(["layers", 0, "name"], "other"), "layers", "another network"),
    (_set(["layers", 0, "neurons"], 107), "neurons", "107 in the record, 108 in the network"),
    (_set(["layers", 0, "extra"], 1), "layers[0]", "exactly the fields"),
    (_set(["colour"], "blue"), "colour", "unknown field"),
    (_set(["accuracy"], {"8": 1.5}), "accuracy[8]", "[0, 1]"),
    (_set(["layers", 0, "sop_per_step", 1], 1e308), "sop_per_step[1]", "exceed the"),
    (_set(["layers", 0, "sop_per_step", 1], 10 ** 400), "sop_per_step[1]", "finite non-negative"),
])
def test_bad_activity_file_is_one_data_error_naming_file_and_field(tmp_path, capsys, edit, field, words):
    doc = _record()
    edit(doc)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as e:
        snnc.estimate(tiny_artifact(), activity=str(path))
    msg = str(e.value)
    assert str(path) in msg and field in msg and words in msg and "\n" not in msg
    assert main(["estimate", str(tiny_artifact().save(tmp_path / "t.snnc")), "--activity", str(path)]) == 6
    assert capsys.readouterr().err.count("\n") == 1


def test_in_memory_activity_with_short_lists_is_rejected_not_an_index_error():
    act = Activity.from_json(_record())
    act.T = 12                       # lists of 8 steps: energy.py used to index past them
    with pytest.raises(DataError, match=r"activity record: layers\[0\] \('n'\)\.spikes_per_step: 8 values, but T = 12"):
        snnc.estimate(tiny_artifact(), activity=act)


# ---- defaults: the artifact's target, input cost, SOP90/95 not reached ----------------------------

def test_profile_defaults_to_the_artifacts_compile_target(tmp_path, capsys):
    art = tiny_artifact()
    assert snnc.estimate(art, T=4)["profile"] == "loihi2"           # no target recorded: the default
    art.meta["target"] = "truenorth"
    r = snnc.estimate(art, T=4)
    assert r["profile"] == "truenorth" and r["profile_source"] == "the artifact's compile target"
    assert snnc.estimate(art, "loihi", T=4)["profile"] == "loihi"
    assert main(["estimate", str(art.save(tmp_path / "t.snnc")), "--T", "4"]) == 0
    assert capsys.readouterr().out.startswith("estimate on truenorth (snn; the artifact's compile target)")


def test_input_cost_conventions_in_closed_form(tmp_path, capsys):
    """seed-generic: E = 77 fJ x SOP + 12.5 pJ x MACs x (T per-step | 1 once); the report names the convention."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_record()))
    art = tiny_artifact()
    sop = 50.0 * 8
    by = {c: snnc.estimate(art, "seed-generic", activity=str(path), input_cost=c) for c in (None, "per-step", "once")}
    assert by[None]["input_cost"]["convention"] == "per-step" and by[None]["input_cost"]["chosen_by"] == "the activity"
    assert by["per-step"]["energy_j"]["nominal"] == pytest.approx(sop * 77e-15 + 768 * 8 * 12.5e-12)  # no padding
    assert by["once"]["energy_j"]["nominal"] == pytest.approx(sop * 77e-15 + 972 * 12.5e-12)
    assert by["once"]["counts"]["input_macs"] == 972 and by["once"]["input_cost"]["chosen_by"] == "--input-cost"
    with pytest.raises(UsageError, match="twice"):
        snnc.estimate(art, "seed-generic", activity=str(path), input_cost="twice")
    model = str(art.save(tmp_path / "t.snnc"))
    assert main(["estimate", model, "--activity", str(path), "--profile", "seed-generic", "--input-cost", "once"]) == 0
    out = capsys.readouterr().out
    assert "input cost: once = first-layer MACs once per sample" in out and "972 MACs per inference" in out
    with pytest.raises(SystemExit) as e:      # argparse's choices
        main(["estimate", model, "--activity", str(path), "--input-cost", "always"])
    assert e.value.code == 2


def test_sop_levels_not_reached_say_the_best_accuracy(tmp_path, capsys):
    doc = _record()
    doc["accuracy"] = {"2": 0.5, "4": 0.8, "6": 0.9, "8": 0.85}     # ANN 0.98: 90% -> 0.882 reached at T=6
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    r = snnc.estimate(tiny_artifact(), "seed-generic", activity=str(path))
    assert r["at_accuracy"]["90"]["T"] == 6
    best = r["at_accuracy"]["95"]["best"]
    assert r["at_accuracy"]["95"]["reached"] is False and (best["T"], best["accuracy"]) == (6, 0.9)
    assert main(["estimate", str(tiny_artifact().save(tmp_path / "t.snnc")), "--activity", str(path)]) == 0
    assert f"SOP95: not reached (best {100 * 0.9 / 0.98:.1f}% of ANN at T=6)" in capsys.readouterr().out


def test_bad_plot_path_fails_before_the_estimate(tmp_path, capsys, monkeypatch):
    import snnc.compiler.analysis.estimate as est
    monkeypatch.setattr(est, "estimate", lambda *a, **k: pytest.fail("estimated despite a bad --plot path"))
    path = tiny_artifact().save(tmp_path / "t.snnc")
    assert main(["estimate", str(path), "--plot", str(tmp_path / "missing" / "e.png")]) == 3
    err = capsys.readouterr().err
    assert "--plot" in err and "does not exist" in err


def test_cli_host_io_sop_only_and_sensitivity(tmp_path, capsys):
    """--host-io adds a latency line (input bytes x t_io_byte); --sop-only prints the seed's convention;
    the per-constant sensitivity is in the text and the JSON."""
    art = tiny_artifact()
    model = str(art.save(tmp_path / "t.snnc"))
    off, on = (snnc.estimate(art, "loihi2", T=8, host_io=h) for h in (False, True))
    io = 36 * 8 * load_profile("loihi2").get("timing.t_io_byte")     # 1 x 6 x 6 bytes every step (per-step)
    assert on["host_io"]["input_bytes"] == 36 * 8 and on["host_io"]["latency_s"]["nominal"] == pytest.approx(io)
    assert on["latency_s"]["nominal"] == pytest.approx(off["latency_s"]["nominal"] + io)
    assert any("host I/O" in x for x in on["included"]) and any("--host-io" in x for x in off["excluded"])
    assert main(["estimate", model, "--profile", "loihi2", "--T", "8", "--host-io", "--sop-only"]) == 0
    out = capsys.readouterr().out
    assert "of which host I/O (288 B)" in out and "SOP-only (the seed paper's convention" in out
    assert "sensitivity of FPS/W" in out and "power.p_static_chip" in out
    sop = off["counts"]["sop"]
    assert off["sop_only"]["fps_per_watt"] == pytest.approx(1 / (sop * load_profile("loihi2").get("energy.e_sop")))
    assert main(["estimate", model, "--profile", "loihi2", "--T", "8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sensitivity"][0]["factor"] >= doc["sensitivity"][-1]["factor"] >= 1.0
