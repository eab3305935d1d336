"""Fan-in splitting (partial sums relayed as graded spikes), against hand counts and closed forms."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.energy import latency, snn_energy
from snnc.compiler.analysis.resources import format_mapping, map_graph, summary
from snnc.compiler.hardware import load_profile, parse_profile
from snnc.compiler.ir import Conv2d, Flatten, GlobalAvgPool2d, Graph, IFNeuron, Input, Linear
from snnc.hardware_profiles import PROFILE_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def profile(name="loihi2", **limits):
    """A bundled profile with some limits replaced (memory in bits)."""
    doc = tomllib.loads((PROFILE_DIR / f"{name}.toml").read_text())
    doc["mapping"] = "per-connection"   # the per-connection partitioner, where fan-in splits arise
    for k, v in limits.items():
        doc["limits"][k]["value"] = v
        if k == "synaptic_memory_per_core":
            doc["limits"][k]["unit"] = "bit"
    return parse_profile(doc, Path(f"custom-{name}.toml"))


def IF(c):
    return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))


def conv8():
    """8 x 4 x 4 input, 3x3 conv pad 1 to 2 channels: an interior neuron reads 8 x 3 x 3 = 72 inputs."""
    w = np.random.default_rng(0).standard_normal((2, 8, 3, 3)).astype(np.float32)
    return Graph.build([("x", Input((8, 4, 4)), []), ("c", Conv2d(w, None, padding=(1, 1, 1, 1)), ["x"]),
                        ("n", IF(2), ["c"])], ["n"])


def test_conv_just_over_max_fan_in_splits_in_two_by_hand():
    m = map_graph(conv8(), profile(max_fan_in=64))
    lay = m.layer("n")
    s = lay.split
    # 72 axons > 64; 7 channels (63) + 1 is the fewest groups (2), balanced to 4 + 4 channels of 36 axons
    assert m.fits and s.k == 2 and s.axons == 72 and s.reason == "input axons"
    assert [g.inputs for g in s.groups] == [[{"source": "x", "channels": [0, 4]}],
                                            [{"source": "x", "channels": [4, 8]}]]
    assert [(g.axons, g.fan_in) for g in s.groups] == [(36, 36), (36, 36)]
    # all 2 x 4 x 4 = 32 relays of a group on one core: they read 4 channels x 4 x 4 = 64 axons
    assert [(g.cores, g.neurons_per_core, g.axons_per_core) for g in s.groups] == [(1, 32, 64), (1, 32, 64)]
    assert s.relay_compartments == 2 * 32 and s.relay_cores == 2 and s.graded_events_per_step == 64
    # integrating neurons: 32 x 2 graded axons = 64 <= 64 -> one core; the layer: 1 + 2 relay cores
    assert lay.cores == 3 and lay.neurons_per_core == 32 and lay.axons_per_core == 64 and m.cores == 3
    # weights: 2 x 8 x 10 x 10 conv synapses (taps 2+3+3+2 per axis) + 2 x 32 unit weights, 8 bit each
    assert lay.synapses == 1600 and lay.memory_bits == (1600 + 64) * 8
    assert m.extra_steps == 1 and s.partial_sum_bits == 8 + 6 <= 24   # 36 weights: 8 + ceil(log2 36) bit
    (w,) = [i for i in m.issues if i.layer == "n"]
    assert w.level == "warning" and ("fan-in 72 > 64: split into 2 partial sums relayed as graded spikes "
                                     "(+64 compartments on +2 cores, +1 step latency)") in w.message
    d = summary(conv8(), profile(max_fan_in=64))
    json.dumps(d)
    assert d["fan_in_splits"] == [{"layer": "n", "k": 2, "reason": "input axons", "relay_compartments": 64,
                                   "relay_cores": 2, "extra_steps": 1, "graded_events_per_step": 64}]
    assert d["layers"][0]["split"]["k"] == 2 and d["pipeline_extra_steps"] == 1
    assert "2 x" in format_mapping(m) and "+1 pipeline step(s)" in format_mapping(m)


def test_a_payload_too_narrow_for_the_partial_sums_is_a_warning():
    # 36 binary inputs x 8-bit weights: |P| <= 36 x 128 needs 8 + ceil(log2 36) = 14 bit > a 12-bit payload
    m = map_graph(conv8(), profile(max_fan_in=64, graded_spike_bits=12))
    assert m.fits and m.layer("n").split.k == 2
    assert any("needs up to 14 bit > the 12-bit graded payload" in i.message for i in m.issues)
    assert not any("payload" in i.message for i in map_graph(conv8(), profile(max_fan_in=64)).issues)


def test_split_by_synaptic_memory_by_hand():
    # 400 bit per core = 50 weights of 8 bit < one neuron's 72: groups of <= 50 axons -> 2 groups, 4 + 4 channels
    m = map_graph(conv8(), profile(synaptic_memory_per_core=400))
    lay, s = m.layer("n"), m.layer("n").split
    assert s.k == 2 and s.reason == "synaptic memory" and [g.fan_in for g in s.groups] == [36, 36]
    # a relay holds 36 x 8 = 288 bit: one per core, 32 cores per group
    assert [(g.cores, g.neurons_per_core) for g in s.groups] == [(32, 1), (32, 1)] and s.relay_cores == 64
    # integrating: n x 2 x 8 <= 400 -> n <= 25; the fewest tiles of (2, 4, 4) within that hold 16 -> 2 cores
    assert lay.neurons_per_core == 16 and lay.cores == 2 + 64
    assert "synaptic memory per core: split into 2 partial sums" in m.issues[0].message


def test_binary_spike_profiles_still_refuse():
    m = map_graph(conv8(), profile(max_fan_in=64, graded_spike_bits=0))
    assert [i.layer for i in m.errors] == ["n"] and m.layer("n").split is None and m.extra_steps == 0
    assert "cannot be split to fit a core" in m.errors[0].message and "binary spikes only" in m.errors[0].message
    for name in ("loihi", "truenorth"):   # bundled binary-spike targets: a 5,000-input neuron is still an error
        g = Graph.build([("x", Input((5000,)), []), ("fc", Linear(np.ones((10, 5000), np.float32), None), ["x"]),
                         ("n", IF(10), ["fc"])], ["n"])
        assert [i.layer for i in map_graph(g, name).errors] == ["n"]


def test_a_channel_too_big_for_a_core_cannot_be_split():
    # the readout averages one 10 x 10 channel: 100 axons > 64 in one channel, so no grouping by channel fits
    g = Graph.build([("x", Input((1, 10, 10)), []), ("c", Conv2d(np.ones((1, 1, 1, 1), np.float32), None), ["x"]),
                     ("n", IF(1), ["c"]), ("p", GlobalAvgPool2d(), ["n"]), ("f", Flatten(), ["p"]),
                     ("l", Linear(np.ones((3, 1), np.float32), None), ["f"])], ["l"])
    m = map_graph(g, profile(max_fan_in=64))
    assert [i.layer for i in m.errors] == ["l"]
    assert "cannot be split into partial sums" in m.errors[0].message and "100 input axons > 64" in m.errors[0].message


def test_layers_that_fit_are_unchanged():
    for prof in ("loihi2", "spinnaker2"):
        graded, binary = (map_graph(conv8(), profile(prof, graded_spike_bits=b)) for b in (24, 0))
        assert graded.layers == binary.layers and graded.cores == binary.cores and graded.issues == binary.issues
        assert graded.layer("n").split is None and graded.extra_steps == 0


def test_relay_energy_and_latency_in_closed_form():
    prof = profile(max_fan_in=64)
    m = map_graph(conv8(), prof)
    T, macs = 4, 2 * 16 * 72
    spikes = [4.0, 8.0, 0.0, 12.0]
    act = Activity(T=T, samples=1, source="hand-made", layers=[LayerActivity("n", 32, spikes, [0.0] * T)],
                   first_layer_macs=macs)
    g = {k: prof.get(f"energy.{k}") for k in ("e_sop", "e_nu_active", "e_nu_idle", "e_in_mac")}
    r = snn_energy(act, prof, m)
    relay = T * 64 * (g["e_sop"] + g["e_nu_active"])   # 64 graded events and 64 relay updates per step
    neurons = g["e_nu_active"] * sum(spikes) + g["e_nu_idle"] * (32 * T - sum(spikes))
    assert r["relay"] == pytest.approx(relay)
    core = prof.get("energy.e_core_step") * m.cores * T   # every occupied core (relays included), every step
    assert r["core"] == pytest.approx(core)
    assert r["dynamic"] == pytest.approx(g["e_in_mac"] * macs * T + neurons + relay + core)
    assert r["per_layer"]["n"]["total"] == pytest.approx(neurons + relay)
    t = {k: prof.get(f"timing.{k}") for k in ("t_sop", "t_nu", "t_sync")}
    # the input's MACs over the 2 relay cores (32 relays each) vs 64 graded events into the 1 integrating core
    step = max(macs / 2 * t["t_sop"] + 32 * t["t_nu"], 64 * t["t_sop"] + 32 * t["t_nu"]) + t["t_sync"]
    assert latency(act, prof, m) == pytest.approx(T * step)


def test_every_snn_profile_says_whether_it_has_graded_spikes():
    bits = {p: load_profile(p).constants["limits.graded_spike_bits"] for p in
            ("loihi", "loihi2", "truenorth", "spinnaker2", "tianjic")}
    assert bits["loihi2"].raw == 24 and "Lava" in bits["loihi2"].source and "32-bit" in bits["loihi2"].source
    assert bits["loihi"].raw == 0 and bits["truenorth"].raw == 0
    assert all(c.source.strip() and c.confidence for c in bits.values())


def test_example_model_mapping_is_unchanged():
    import snnc
    from snnc.compiler.data import example_model_path
    snn = snnc.compile(str(example_model_path()), "mnist").snn
    graded, binary = (map_graph(snn, profile("loihi2", graded_spike_bits=b, synaptic_memory_per_core=128 * 8192))
                      for b in (24, 0))
    assert graded.layers == binary.layers and graded.issues == binary.issues
    assert graded.cores == 13 and graded.chips == 1 and not any(l.split for l in graded.layers)


@pytest.mark.slow
def test_resnet18_at_224_compiles_for_loihi2(tmp_path, require, capsys):
    from snnc.cli import main
    torch, tv = require("torch"), require("torchvision")
    torch.manual_seed(0)
    onnx_path, calib = tmp_path / "r18.onnx", tmp_path / "x.npy"
    torch.onnx.export(tv.models.resnet18().eval(), torch.zeros(1, 3, 224, 224), str(onnx_path), dynamo=False,
                      input_names=["x"])
    np.save(calib, np.random.default_rng(0).standard_normal((4, 3, 224, 224)).astype(np.float32))
    rc = main(["compile", str(onnx_path), "--calib", str(calib), "--iters", "1", "--batch-size", "4",
               "-o", str(tmp_path / "r18.snnc"), "--json"])
    res = json.loads(capsys.readouterr().out)["resources"]
    assert rc == 0 and res["fits"] and res["profile"] == "loihi2"
    splits = {s["layer"]: s for s in res["fan_in_splits"]}
    # as Lava maps it (mapping = "lava"), layer4's 3x3 convs over 512 channels share their kernels and read
    # population axons: no fan-in split; a core holds the kernels of 384,000 // (512 x 9 x 8) = 10 channels
    layers = {l["name"]: l for l in res["layers"]}
    layer4 = [n for n in layers if n.startswith("layer4") and layers[n]["bound"].startswith("synaptic memory")]
    assert len(layer4) == 4 and all(layers[n]["memory_per_core"] <= 384000 and not layers[n]["split"] for n in layer4)
    plain = layers["layer4_layer4.1_relu_Relu_output_0"]        # one 3x3 conv over 512 channels, nothing else
    assert plain["cores"] == 52 and plain["tile"] == [10, 7, 7]
    # the readout (a Linear behind the global pool: the per-connection fallback) reads 512 x 7 x 7 = 25,088 axons:
    # 4,096 // 49 = 83 channels a core, ceil(512 / 83) = 7 groups of 1,000 relays
    (readout,) = splits
    assert splits[readout]["k"] == 7 and splits[readout]["relay_compartments"] == 7000
    assert res["pipeline_extra_steps"] == 1 and res["chips"] == -(-res["cores"] // 128)
    # the estimate charges the relays: T x 7 x 1,000 x (e_sop + e_nu_active), nominal loihi2
    assert main(["estimate", str(tmp_path / "r18.snnc"), "--T", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    prof = load_profile("loihi2")
    events = 8 * 7000
    assert r["counts"]["graded_relay_events"] == events
    assert r["breakdown_j"]["relay"]["nominal"] == pytest.approx(
        events * (prof.get("energy.e_sop") + prof.get("energy.e_nu_active")))
    assert any("+1 pipeline step(s)" in x for x in r["excluded"])
