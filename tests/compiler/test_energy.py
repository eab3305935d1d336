"""Energy model: the seed's published figures from its counts, and the closed form on hand counts."""
import numpy as np
import pytest

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.energy import ann_energy, latency, layer_loads, snn_energy, sop_energy
from snnc.compiler.analysis.resources import map_graph
from snnc.compiler.hardware import load_profile
from snnc.compiler.ir import Graph, IFNeuron, Input, Linear

SEED = "seed-generic"


def one_layer_activity(sop_total, T=8):
    return Activity(T=T, samples=1, source="numpy",
                    layers=[LayerActivity("n", 1000, [0.0] * T, [sop_total / T] * T)])


def test_seed_ann_figure_resnet34():
    # 3.66 GMAC x 12.5 pJ = 45.75 mJ -> 21.9 FPS/W ("about 22")
    r = ann_energy(3.66e9, load_profile(SEED))
    assert r["energy"] == pytest.approx(45.75e-3, rel=1e-9)
    assert r["fps_per_watt"] == pytest.approx(21.86, abs=0.01) and round(r["fps_per_watt"]) == 22


@pytest.mark.parametrize("gsop, mj, fpsw", [(20.86, 1.606, 622), (33.42, 2.573, 389)])
def test_seed_snn_figures_resnet34(gsop, mj, fpsw):
    prof = load_profile(SEED)
    assert sop_energy(gsop * 1e9, prof)["energy"] == pytest.approx(gsop * 1e9 * 77e-15)
    full = snn_energy(one_layer_activity(gsop * 1e9), prof)   # the full model: neurons free, no static
    assert full["total"] * 1e3 == pytest.approx(mj, abs=5e-4)
    assert full["fps_per_watt"] == pytest.approx(fpsw, abs=1)   # the seed truncates 622.6 to 622
    assert full["latency"] is None and full["fps"] is None    # the op-count model has no timing


def dense_mapping(profile):
    w = np.ones((1000, 100), np.float32)
    g = Graph.build([("x", Input((100,)), []), ("fc", Linear(w, None), ["x"]),
                     ("n", IFNeuron(np.ones(1000, np.float32), np.full(1000, .5, np.float32)), ["fc"]),
                     ("out", Linear(np.ones((10, 1000), np.float32), None), ["n"])], ["out"])
    return map_graph(g, profile)


def test_closed_form_energy_and_latency_on_loihi():
    m = dense_mapping("loihi")
    assert m.layer("n").cores == 1 and m.layer("out").cores == 1 and m.chips == 1
    T, spikes, sop = 4, [100.0, 200.0, 300.0, 400.0], [1000.0, 2000.0, 3000.0, 4000.0]  # 10 synapses per spike
    act = Activity(T=T, samples=1, source="numpy", layers=[LayerActivity("n", 1000, spikes, sop)],
                   first_layer_macs=100_000, output_neurons=10)
    r = snn_energy(act, load_profile("loihi"), m)
    # constants typed in from Davies 2018 / Frady 2020 (hardware.md)
    e_dyn = 23.6e-12 * 10_000 + 81e-12 * 1000 + 52e-12 * (4000 - 1000) + 52e-12 * 10 * T + 23.6e-12 * 100_000 * T
    # routing: 1,000 spikes, each one message to the readout's single core, over 2/3 x sqrt(2 cores) hops
    e_route = 3.5e-12 * (2 / 3) * 2 ** 0.5 * 1000
    assert r["routing"] == pytest.approx(e_route)
    e_dyn += e_route
    # per step: layer n receives the 100,000 input MACs; the readout receives that step's SOPs
    steps = [max(100_000 * 3.5e-9 + 1000 * 8.4e-9, s * 3.5e-9 + 10 * 8.4e-9) + 290e-9 for s in sop]
    assert r["latency"] == pytest.approx(sum(steps))
    assert r["dynamic"] == pytest.approx(e_dyn)
    assert r["static"] == pytest.approx(104e-3 * sum(steps))
    assert r["total"] == pytest.approx(e_dyn + 104e-3 * sum(steps))
    assert r["fps_per_watt"] == pytest.approx(1 / r["total"]) and r["fps"] == pytest.approx(1 / sum(steps))
    assert layer_loads(act, m)["out"] == sop


def test_once_convention_counts_input_macs_once():
    m = dense_mapping("loihi")
    act = Activity(T=4, samples=1, source="numpy", layers=[LayerActivity("n", 1000, [0] * 4, [0] * 4)],
                   first_layer_macs=100_000, first_layer_convention="once")
    assert snn_energy(act, load_profile("loihi"), m)["input"] == pytest.approx(23.6e-12 * 100_000)
    assert layer_loads(act, m)["n"] == [100_000, 0, 0, 0]


def test_fixed_tick_latency_and_ranges_are_ordered():
    m = dense_mapping("loihi")
    act = Activity(T=16, samples=1, source="numpy", layers=[LayerActivity("n", 1000, [50.0] * 16, [500.0] * 16)],
                   first_layer_macs=100_000, output_neurons=10)
    assert latency(act, load_profile("truenorth")) == pytest.approx(16e-3)
    prof = load_profile("loihi2")
    lo, nom, hi = (snn_energy(act, prof, m, w) for w in ("low", "nominal", "high"))
    assert lo["total"] < nom["total"] < hi["total"]
    assert lo["latency"] < nom["latency"] < hi["latency"]
    assert hi["fps_per_watt"] < nom["fps_per_watt"] < lo["fps_per_watt"]


def test_core_step_energy_is_cores_times_steps_and_in_the_sensitivity():
    prof = load_profile("loihi2")
    m = dense_mapping(prof)
    T = 5
    act = Activity(T=T, samples=1, source="numpy", layers=[LayerActivity("n", 1000, [0.0] * T, [0.0] * T)],
                   first_layer_macs=0, output_neurons=10)
    r = snn_energy(act, prof, m)
    assert r["core"] == pytest.approx(0.63e-6 * m.cores * T)            # loihi2.toml: 0.63 uJ per core-step
    no_core = snn_energy(act, load_profile("loihi"), dense_mapping("loihi"))   # a profile without the term
    assert no_core["core"] == 0.0
    assert r["dynamic"] == pytest.approx(r["input"] + r["sop"] + r["neuron"] + r["routing"] + r["core"])
    from snnc.compiler.analysis.energy import sensitivity
    assert "energy.e_core_step" in {s["constant"] for s in sensitivity(act, prof, m)}
