"""snnc's Loihi estimates against published measurements (lava-dl's PilotNet runs on Loihi 2; Loihi 1 keyword spotting).

    python -m benchmarks.validate_loihi2 [--json]

Rebuilds the published networks from their layer tables (random weights: the mapping and the
estimate need shapes and activity, not weight values), maps them with the run's profile (loihi2:
Lava's mapping rules, hardware.lava_rules; loihi) and estimates them over an assumed firing activity,
then prints one table: the published figure (with its source) against snnc's low / nominal / high.
snnc's range spans the profile's constant ranges (all low ... all high) and the activity range
(ACTIVITY: no per-layer rate is published, the notebooks' activity plots are not transcribed).

Networks (lava-dl ``tutorials/lava/lib/dl/netx/pilotnet_*/benchmark.ipynb``):

* PilotNet SNN (LIF): input 200 x 66 x 3 as a bias-driven LIF layer (the image written once as a
  bias, "to avoid IO bottleneck"), conv 24 / 36 / 48 (3x3, stride 2), conv 64 (stride 2 x 1,
  pad 1 x 0), conv 64, dense 100, 50, 10, 1; 16 steps per frame (reset_interval 16).
  Two published runs of that notebook: on a one-chip board (408.91 fps) and on an 8-chip board
  (342.29 fps); their printed power lines (total / dynamic / static, per rail) are transcribed below.
* PilotNet SDNN: the same layers without the input layer, one step per frame, the frames streamed
  from the host through a delta encoder (run with host I/O included, ``--host-io``).
* Keyword spotter on Loihi 1 (Blouw et al., NICE 2019; profile ``loihi``): 390 inputs (MFCC frames),
  two LIF layers of 256, a 29-character readout off chip (nengo-loihi's ``docs/examples/
  keyword-spotting.ipynb``: n_inputs 390, n_neurons 256, n_outputs 29), both layers on chip, each
  inference 10 steps of 1 ms (the example reads one character per 10-step window; assumed).

Which published figures calibrate which constant (so they are NOT independent checks) is said in
the "use" column: the static power, the per-core step energy (energy.e_core_step) and the host I/O
time come from these runs, so only the rows marked "check" test the model.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

NOTEBOOK = "lava-dl netx pilotnet_{}/benchmark.ipynb"
SNN1, SNN8 = NOTEBOOK.format("snn") + " (one-chip board, 408.91 fps)", NOTEBOOK.format("snn") + " (8-chip board, 342.29 fps)"
KWS = "Blouw et al., NICE 2019, Table 1 (hardware.md)"
ACTIVITY = {"low": 0.05, "nominal": 0.10, "high": 0.20}   # spikes (SDNN: graded events) per neuron per step
CONVS = [(24, (2, 2), (0, 0, 0, 0)), (36, (2, 2), (0, 0, 0, 0)), (48, (2, 2), (0, 0, 0, 0)),
         (64, (2, 1), (1, 0, 1, 0)), (64, (1, 1), (0, 0, 0, 0))]
CAL = "calibrates "

# published figures: (figure key, value, unit, source, use); "check" = independent of the profile's constants
PUBLISHED = {
    "PilotNet SNN, 1 chip": [
        ("cores", 74, "", "Lava's per-core table, 13 of them for the input layer (" + NOTEBOOK.format("snn") + ")",
         "rules read off this table"),
        ("chips", 1, "", "same (--chips=1)", "check"),
        ("static power", 0.232078, "W", "Static Power, " + SNN1, CAL + "power.p_static_chip"),
        ("dynamic power", 0.447156, "W", "Dynamic Power, " + SNN1, CAL + "energy.e_core_step"),
        ("total power", 0.679234, "W", "Total Power, " + SNN1, "static + dynamic: calibrated"),
        ("latency per step", 1 / (408.91 * 16), "s", "1 / (408.91 fps x 16 steps), " + SNN1, "check"),
        ("dynamic energy per inference", 1.093544e-3, "J", "Dynamic Energy per inference, " + SNN1,
         CAL + "energy.e_core_step"),
        ("energy per inference", 1.661103e-3, "J", "Total Energy per inference, " + SNN1,
         "dynamic calibrated, static over the latency: check"),
        ("FPS", 408.91, "", "Throughput, " + SNN1, "as latency"),
    ],
    "PilotNet SNN, 8 chips": [
        ("static power", 0.352063, "W", "Static Power (board / 8), " + SNN8, CAL + "p_static_chip's high end"),
        ("dynamic power", 0.474284, "W", "Dynamic Power, " + SNN8, "check"),
        ("total power", 0.826347, "W", "Total Power, " + SNN8, "check"),
        ("latency per step", 1 / (342.29 * 16), "s", "1 / (342.29 fps x 16 steps), " + SNN8, "check"),
        ("dynamic energy per inference", 1.385611e-3, "J", "Dynamic Energy per inference, " + SNN8, "check"),
        ("energy per inference", 2.414157e-3, "J", "Total Energy per inference, " + SNN8, "check"),
        ("FPS", 342.29, "", "Throughput, " + SNN8, "as latency"),
    ],
    "PilotNet SDNN": [
        ("cores", 61, "", "Lava's per-core table (" + NOTEBOOK.format("sdnn") + ")", "rules read off this table"),
        ("chips", 1, "", "same", "check"),
        ("total power", 0.276, "W", NOTEBOOK.format("sdnn") + " (hardware.md)", "check"),
        ("latency per step", 1 / 16.9, "s", "1 / 16.9 fps, one step a frame, host-I/O bound", "calibrates timing.t_io_byte"),
        ("energy per inference", 0.276 / 16.9, "J", "0.276 W / 16.9 fps (derived)", "check"),
        ("FPS", 16.9, "", NOTEBOOK.format("sdnn") + " (another version of it: 11.18)", "as latency"),
    ],
    "Keyword spotting, Loihi 1": [
        ("static power", 0.029, "W", "idle power, " + KWS, "check"),
        ("dynamic power", 0.110 - 0.029, "W", "run - idle power (0.110 - 0.029 W), " + KWS, "check"),
        ("dynamic energy per inference", 0.27e-3, "J", "dynamic energy per inference, " + KWS, "check"),
        ("FPS", 296, "", "inferences per second, " + KWS, "check (host-streamed run)"),
    ],
}
# run -> how it is rebuilt: profile, network, steps per inference, host I/O bytes per inference (None: excluded)
RUNS = {
    "PilotNet SNN, 1 chip": dict(profile="loihi2", net="pilotnet-snn", T=16, io=None),
    "PilotNet SNN, 8 chips": dict(profile="loihi2", net="pilotnet-snn", T=16, io=None),
    "PilotNet SDNN": dict(profile="loihi2", net="pilotnet-sdnn", T=1, io=float(3 * 66 * 200)),
    "Keyword spotting, Loihi 1": dict(profile="loihi", net="kws", T=10, io=None),
}


def pilotnet(input_layer: bool, seed: int = 0):
    """PilotNet as netx lists it, in snnc's (C, H, W) layout; IF layers of unit threshold, random weights."""
    from snnc.compiler.ir import ChannelAffine, Conv2d, Flatten, Graph, IFNeuron, Input, Linear
    rng = np.random.default_rng(seed)

    def neuron(c):
        return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))
    spec, prev, c = [("x", Input((3, 66, 200)), [])], "x", 3
    if input_layer:
        spec += [("in_bias", ChannelAffine(np.ones(3, np.float32), np.zeros(3, np.float32)), ["x"]),
                 ("in", neuron(3), ["in_bias"])]
        prev = "in"
    for i, (o, stride, pad) in enumerate(CONVS, 1):
        w = (rng.standard_normal((o, c, 3, 3)) * 0.1).astype(np.float32)
        spec += [(f"conv{i}", Conv2d(w, None, stride, pad), [prev]), (f"n{i}", neuron(o), [f"conv{i}"])]
        prev, c = f"n{i}", o
    spec.append(("flat", Flatten(), [prev]))
    prev, f = "flat", 64 * 2 * 20
    for i, o in enumerate((100, 50, 10), 6):
        spec += [(f"fc{i}", Linear((rng.standard_normal((o, f)) * 0.1).astype(np.float32), None), [prev]),
                 (f"n{i}", neuron(o), [f"fc{i}"])]
        prev, f = f"n{i}", o
    spec.append(("out", Linear((rng.standard_normal((1, 10)) * 0.1).astype(np.float32), None), [prev]))
    return Graph.build(spec, ["out"])


def keyword_spotter(seed: int = 0):
    """Blouw et al.'s keyword spotter as nengo-loihi's example builds it: 390 -> 256 LIF -> 256 LIF -> 29 (linear
    readout; snnc's non-spiking readout accumulators); IF layers of unit threshold, random weights."""
    from snnc.compiler.ir import Graph, IFNeuron, Input, Linear
    rng = np.random.default_rng(seed)
    spec, prev, f = [("x", Input((390,)), [])], "x", 390
    for i in (1, 2):
        w = (rng.standard_normal((256, f)) * 0.1).astype(np.float32)
        spec += [(f"fc{i}", Linear(w, None), [prev]),
                 (f"n{i}", IFNeuron(np.ones(256, np.float32), np.full(256, 0.5, np.float32)), [f"fc{i}"])]
        prev, f = f"n{i}", 256
    spec.append(("out", Linear((rng.standard_normal((29, 256)) * 0.1).astype(np.float32), None), [prev]))
    return Graph.build(spec, ["out"])


NETWORKS = {"pilotnet-snn": (lambda: pilotnet(input_layer=True), True),
            "pilotnet-sdnn": (lambda: pilotnet(input_layer=False), False),
            "kws": (keyword_spotter, False)}   # name -> (builder, input written once as a bias)


def activity(graph, mapping, rate: float, T: int, input_layer: bool):
    """Uniform activity: every layer fires ``rate`` per neuron per step; SOPs = rate x its out-synapses.

    SNN: the input layer's bias is written once per frame ("once", its 39,600 values);
    SDNN: the delta-encoded frame drives conv1 every step at the same event density ("per-step"); the keyword
    spotter's MFCC frame likewise (spikes from the host every step)."""
    from snnc.compiler.analysis.activity import Activity, LayerActivity
    from snnc.compiler.analysis.resources import first_layer_synapses
    layers = [LayerActivity(l.name, l.neurons, [rate * l.neurons] * T, [rate * l.out_synapses] * T)
              for l in mapping.layers if l.kind == "neuron"]
    first = first_layer_synapses(graph)
    return Activity(T=T, samples=1, source="assumed-rate", layers=layers,
                    first_layer_macs=int(first if input_layer else round(rate * first)),
                    first_layer_convention="once" if input_layer else "per-step", output_neurons=1)


def estimate_run(name: str) -> dict:
    """snnc's figures for one published run: {figure: {low, nominal, high}} over constants x activity."""
    from snnc.compiler.analysis import energy as en
    from snnc.compiler.analysis.resources import map_graph
    from snnc.compiler.hardware import WHICH, load_profile
    cfg = RUNS[name]
    build, bias_input = NETWORKS[cfg["net"]]
    prof, T, io = load_profile(cfg["profile"]), cfg["T"], cfg["io"]
    g = build()
    m = map_graph(g, prof)
    figs = {}
    for ra, rate in ACTIVITY.items():
        act = activity(g, m, rate, T, bias_input)
        f = {w: en.snn_energy(act, prof, m, w, io) for w in WHICH}
        for w in WHICH:
            # a power is energy / latency: its interval takes the energy's ends over the latency's other ends
            lat = {"low": f["high"]["latency"], "nominal": f["nominal"]["latency"], "high": f["low"]["latency"]}[w]
            static = en.static_power(prof, m, w)
            figs[(ra, w)] = {"cores": m.cores, "chips": m.chips, "static power": static,
                             "dynamic power": f[w]["dynamic"] / lat, "total power": f[w]["dynamic"] / lat + static,
                             "latency per step": f[w]["latency"] / T, "energy per inference": f[w]["total"],
                             "dynamic energy per inference": f[w]["dynamic"], "FPS": f[w]["fps"]}
    act = activity(g, m, ACTIVITY["nominal"], T, bias_input)
    out = {k: {"low": min(v[k] for v in figs.values()), "nominal": figs[("nominal", "nominal")][k],
               "high": max(v[k] for v in figs.values())} for k in figs[("nominal", "nominal")]}
    return {"figures": out, "profile": prof.name,
            "mapping": [(l.name, l.cores, l.neurons_per_core, l.bound) for l in m.layers],
            "sensitivity": en.sensitivity(act, prof, m, io)[:4]}


def run() -> dict:
    out = {}
    for name, rows in PUBLISHED.items():
        est = estimate_run(name)
        table = []
        for key, value, unit, source, use in rows:
            e = est["figures"][key]
            inside = e["low"] <= value * (1 + 1e-9) and value <= e["high"] * (1 + 1e-9)
            table.append({"figure": key, "published": value, "unit": unit, "source": source, "use": use, **e,
                          "inside_range": inside, "nominal_ratio": e["nominal"] / value})
        out[name] = {"rows": table, "profile": est["profile"], "mapping": est["mapping"],
                     "sensitivity": est["sensitivity"]}
    return out


def _fmt(x, unit):
    if unit == "":
        return f"{x:,.4g}"
    for f, p in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if abs(x) >= f:
            return f"{x / f:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def render(d: dict) -> str:
    from snnc.cli.common import table
    rows = []
    for name, r in d.items():
        for x in r["rows"]:
            u = x["unit"]
            rows.append([f"{name} ({r['profile']})", x["figure"], _fmt(x["published"], u), _fmt(x["low"], u),
                         _fmt(x["nominal"], u),
                         _fmt(x["high"], u), "yes" if x["inside_range"] else "NO", f"{x['nominal_ratio']:.2f}",
                         x["use"]])
    lines = ["snnc estimates vs published Loihi 2 / Loihi 1 measurements (activity "
             f"{ACTIVITY['low']}-{ACTIVITY['high']} per neuron per step, nominal {ACTIVITY['nominal']}: assumed)", "",
             table(["run", "figure", "published", "snnc low", "nominal", "high", "in range", "nominal/published",
                    "use"], rows, "llrrrrrrl"), "", "sources:"]
    for name, r in d.items():
        lines += [f"  {name}, {x['figure']}: {x['source']}" for x in r["rows"]]
    for name, r in d.items():
        lines += ["", f"{name}: mapping (layer, cores, neurons/core, bound by): "
                  + "; ".join(f"{n} {c} x {npc} ({b})" for n, c, npc, b in r["mapping"]),
                  f"{name}: FPS/W most sensitive to: "
                  + ", ".join(f"{s['constant']} ({s['factor']:.2f}x)" for s in r["sensitivity"])]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    d = run()
    print(json.dumps(d, indent=1, default=float) if args.json else render(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
