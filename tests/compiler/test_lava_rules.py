"""Loihi 2 as Lava maps it: Lava's published PilotNet mappings, dense synapse words by hand, and the new terms."""
import json

import numpy as np
import pytest

from snnc.compiler.analysis import energy as en
from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.resources import format_mapping, map_graph
from snnc.compiler.errors import HardwareError
from snnc.compiler.hardware import load_profile
from snnc.compiler.hardware.lava_rules import dense_words
from snnc.compiler.ir import ChannelAffine, Conv2d, Flatten, Graph, IFNeuron, Input, Linear
from snnc.hardware_profiles import PROFILE_DIR

# Lava's per-core tables (lava-dl netx pilotnet_snn / pilotnet_sdnn benchmark.ipynb): cores and neurons per core
LAVA_SNN = {"in": (13, 3168), "n1": (25, 3072), "n2": (13, 2160), "n3": (3, 2688), "n4": (3, 2048),
            "n5": (2, 2048), "n6": (12, 9), "n7": (1, 50), "n8": (1, 10), "out": (1, 1)}


def IF(c):
    return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))


def pilotnet(input_layer=True):
    rng = np.random.default_rng(0)
    spec, prev, c = [("x", Input((3, 66, 200)), [])], "x", 3
    if input_layer:
        spec += [("g", ChannelAffine(np.ones(3, np.float32), np.zeros(3, np.float32)), ["x"]), ("in", IF(3), ["g"])]
        prev = "in"
    for i, (o, s, p) in enumerate([(24, (2, 2), (0,) * 4), (36, (2, 2), (0,) * 4), (48, (2, 2), (0,) * 4),
                                   (64, (2, 1), (1, 0, 1, 0)), (64, (1, 1), (0,) * 4)], 1):
        spec += [(f"c{i}", Conv2d(rng.standard_normal((o, c, 3, 3)).astype(np.float32), None, s, p), [prev]),
                 (f"n{i}", IF(o), [f"c{i}"])]
        prev, c = f"n{i}", o
    spec.append(("f", Flatten(), [prev]))
    prev, f = "f", 2560
    for i, o in enumerate((100, 50, 10), 6):
        spec += [(f"l{i}", Linear(rng.standard_normal((o, f)).astype(np.float32), None), [prev]), (f"n{i}", IF(o), [f"l{i}"])]
        prev, f = f"n{i}", o
    spec.append(("out", Linear(rng.standard_normal((1, 10)).astype(np.float32), None), [prev]))
    return Graph.build(spec, ["out"])


def test_pilotnet_maps_as_lava_published_it():
    m = map_graph(pilotnet(), "loihi2")
    assert {l.name: (l.cores, l.neurons_per_core) for l in m.layers} == LAVA_SNN
    assert m.cores == 74 and m.chips == 1 and m.fits
    sdnn = map_graph(pilotnet(input_layer=False), "loihi2")
    assert sdnn.cores == 61 and sdnn.chips == 1            # Lava's SDNN table: 61 cores
    bound = {l.name: l.bound for l in m.layers}
    assert bound["n1"].startswith("neurons") and bound["n6"].startswith("synaptic memory") and bound["n7"] == "fits one core"
    assert "bound by" in format_mapping(m) and m.to_json()["mapping"] == "lava"


def test_dense_words_and_lavas_ratio_split_by_hand():
    # Lava's tables: 100 -> 50 is 1,300 words, 50 -> 10 is 150, 10 -> 1 is 10 (8-bit weights, 32-bit words)
    assert dense_words(100, 50, 8, 32) == 1300 and dense_words(50, 10, 8, 32) == 150 and dense_words(10, 1, 8, 32) == 10
    # 2,560 -> 100 against 12,000 words: 64,000 -> ratio 6 (17 neurons, 12,800 words) -> x2 -> 12 cores of 9
    assert dense_words(2560, 100, 8, 32) == 64000 and dense_words(2560, 17, 8, 32) == 12800
    n6 = map_graph(pilotnet(), "loihi2").layer("n6")
    assert (n6.cores, n6.neurons_per_core, n6.memory_per_core) == (12, 9, dense_words(2560, 9, 8, 32) * 32)


def _profile_text():
    return (PROFILE_DIR / "loihi2.toml").read_text()


@pytest.mark.parametrize("edit, key, words", [
    (lambda t: t.replace("value = 12.0\nunit = \"pJ\"\nrange = [3.5, 23.6]", "value = -12.0\nunit = \"pJ\"\n"
                         "range = [3.5, 23.6]", 1), "energy.e_sop", "must be >= 0"),
    (lambda t: t.replace("range = [232.078, 352.063]", "range = [352.063, 232.078]"), "power.p_static_chip",
     "low bound exceeds its high bound"),
    (lambda t: t.replace('confidence = "measured"', 'confidence = "measured-ish"', 1), "power.p_static_chip",
     "bad confidence tag"),
    (lambda t: t.replace('mapping = "lava"', 'mapping = "nxsdk"'), "mapping", "must be one of"),
    (lambda t: t.replace("[limits.synapse_word_bits]", "[limits.unused_word_bits]"), "limits.unused_word_bits",
     "unknown key"),
])
def test_bad_profile_values_name_file_and_key(tmp_path, edit, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(edit(_profile_text()))
    with pytest.raises(HardwareError) as e:
        load_profile(str(path))
    assert str(path) in str(e.value) and key in str(e.value) and words in str(e.value)


def test_lava_mapping_needs_the_word_size(tmp_path):
    t = _profile_text()
    start = t.index("[limits.synapse_word_bits]")
    path = tmp_path / "noword.toml"
    path.write_text(t[:start] + t[t.index("\n[", start) + 1:])
    with pytest.raises(HardwareError, match="limits.synapse_word_bits.*missing key"):
        load_profile(str(path))


def _activity(m, rate=0.1, T=4):
    return Activity(T=T, samples=1, source="numpy", output_neurons=1, first_layer_macs=1000,
                    layers=[LayerActivity(l.name, l.neurons, [rate * l.neurons] * T, [rate * l.out_synapses] * T)
                            for l in m.layers if l.kind == "neuron"])


def test_host_io_adds_bytes_times_t_io_byte_and_static_power_over_it():
    prof = load_profile("loihi2")
    m = map_graph(pilotnet(input_layer=False), prof)
    act = _activity(m)
    off, on = en.snn_energy(act, prof, m), en.snn_energy(act, prof, m, input_bytes=39600.0)
    io = 39600 * prof.get("timing.t_io_byte")
    assert off["host_io"] == 0.0 and on["host_io"] == pytest.approx(io)
    assert on["latency"] == pytest.approx(off["latency"] + io)
    assert on["static"] - off["static"] == pytest.approx(prof.get("power.p_static_chip") * m.chips * io)
    assert on["dynamic"] == off["dynamic"]                      # no host-side energy modelled
    with pytest.raises(HardwareError, match="t_io_byte"):
        en.snn_energy(act, load_profile("loihi"), map_graph(pilotnet(input_layer=False), "loihi"), input_bytes=1.0)


def test_sensitivity_moves_one_constant_at_a_time():
    prof = load_profile("loihi2")
    m = map_graph(pilotnet(input_layer=False), prof)
    act = _activity(m)
    sens = en.sensitivity(act, prof, m)
    assert [s["factor"] for s in sens] == sorted((s["factor"] for s in sens), reverse=True)
    by = {s["constant"]: s for s in sens}
    hi = en.snn_energy(act, prof.at("power.p_static_chip", "high"), m)
    assert by["power.p_static_chip"]["fps_per_watt_at_high"] == pytest.approx(hi["fps_per_watt"])
    assert hi["dynamic"] == pytest.approx(en.snn_energy(act, prof, m)["dynamic"])   # only the static part moved
    assert all(not k.startswith("limits.") for k in by) and "timing.t_io_byte" in by
    json.dumps(sens)


def test_conv_kernels_larger_than_a_core_split_by_output_channel():
    # 512 -> 512 3x3 on 7x7: one output channel's kernel is 512 x 9 x 8 bit = 36,864 bit; 384,000 bit hold 10
    w = np.zeros((512, 512, 3, 3), np.float32)
    g = Graph.build([("x", Input((512, 7, 7)), []), ("c", Conv2d(w, None, padding=(1, 1, 1, 1)), ["x"]),
                     ("n", IF(512), ["c"])], ["n"])
    lay = map_graph(g, "loihi2").layer("n")
    assert 384000 // (512 * 9 * 8) == 10
    assert lay.tile == (10, 7, 7) and lay.cores == -(-512 // 10) == 52
    assert lay.memory_per_core == 10 * 512 * 9 * 8 and lay.bound == "synaptic memory (shared kernels)"
    assert lay.split is None                        # shared kernels, population axons: no fan-in split
