"""Energy estimate of the example model on loihi2 and seed-generic, from a simulated activity record.

    python -m benchmarks.bench_estimate [--n 1000] [--T 8,16,32,64] [--json]

The same figures as these commands (one simulation, then the estimator on it)::

    snnc compile examples/mnist_cnn.onnx --calib mnist -o m.snnc
    snnc simulate m.snnc --data mnist --n 1000 --T 8,16,32,64 --activity-out run.json
    snnc estimate m.snnc --activity run.json [--profile seed-generic] [--input-cost once]

For both profiles and both first-layer conventions (``--input-cost per-step``:
the dense first-layer MACs every step; ``once``: once per sample, host-computed
and injected as a bias current) it prints energy per inference (low / nominal /
high), its breakdown, latency and FPS/W at the largest T, SOP90 / SOP95, the
ANN baseline (seed-generic, 12.5 pJ per MAC: the seed's per-FLOP figure as it applies it) and the pre-run estimate from the
calibration statistics against the simulated SOPs at T = 32.
"""
from __future__ import annotations

import argparse
import json
import logging

import numpy as np


def run(n: int, Ts) -> dict:
    import snnc
    from snnc.compiler.analysis.expected import truncate
    from snnc.compiler.data import example_model_path, load_data
    from snnc.compiler.execute import predict
    art = snnc.compile(str(example_model_path()), "mnist")
    test = load_data("mnist:test", n=n)
    res = snnc.simulate(art, test.x, T=Ts, y=test.y, show_progress=False)
    act = res.activity
    act.ann_accuracy = float(np.mean(predict(art.ann, test.x).argmax(1) == test.y))
    out = {"n": n, "T": list(Ts), "ann_accuracy": act.ann_accuracy, "accuracy": res.accuracy, "estimates": {}}
    logging.getLogger("snnc").setLevel(logging.ERROR)      # the resource warnings are printed once, below
    for profile in ("loihi2", "seed-generic"):
        for cost in ("per-step", "once"):
            r = snnc.estimate(art, profile, activity=act, input_cost=cost)
            if profile == "loihi2" and cost == "once":
                out["warnings"] = [i["message"] for i in r["resources"]["issues"] if i["level"] == "warning"]
            out["estimates"][f"{profile} {cost}"] = {
                "cores": r["resources"]["cores"], "chips": r["resources"]["chips"], "sop": r["counts"]["sop"],
                "input_macs": r["counts"]["input_macs"], "energy_j": r["energy_j"],
                "breakdown_nominal_j": {k: v["nominal"] for k, v in r["breakdown_j"].items()},
                "latency_s": r["latency_s"]["nominal"], "fps_per_watt": r["fps_per_watt"],
                "at_accuracy": {k: {"T": v.get("T"), "sop": v.get("sop"),
                                    "fps_per_watt": (v.get("fps_per_watt") or {}).get("nominal")}
                                for k, v in r["at_accuracy"].items()},
                "ann": {"macs": r["ann"]["macs"], "energy_j": r["ann"]["energy_j"]["nominal"],
                        "fps_per_watt": r["ann"]["fps_per_watt"]["nominal"]}}
    t = 32 if 32 in Ts else Ts[-1]
    pre = snnc.estimate(art, "loihi2", T=t)["counts"]["sop"]
    out["pre_run"] = {"T": t, "sop_estimate": pre, "sop_simulated": truncate(act, t).sop}
    return out


def _si(x, unit):
    for f, p in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= f:
            return f"{x / f:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def render(d: dict) -> str:
    from snnc.cli.common import table
    acc = ", ".join(f"T={t} {100 * a:.2f}%" for t, a in sorted(d["accuracy"].items()))
    lines = [f"example MNIST CNN, {d['n']} test images, ANN {100 * d['ann_accuracy']:.2f}%; SNN {acc}", ""]
    lines += [f"resources on loihi2, warning: {w}" for w in d.get("warnings", [])] + [""]
    rows = []
    for key, e in d["estimates"].items():
        en, b, f = e["energy_j"], e["breakdown_nominal_j"], e["fps_per_watt"]
        s90, s95 = e["at_accuracy"].get("90", {}), e["at_accuracy"].get("95", {})
        rows.append([key, e["cores"] if e["cores"] is not None else "-",
                     f"{_si(en['nominal'], 'J')} ({_si(en['low'], 'J')} - {_si(en['high'], 'J')})",
                     _si(b["input"], "J"), _si(b["sop"] + b["neuron"], "J"), _si(b["static"], "J"),
                     _si(e["latency_s"], "s") if e["latency_s"] else "-",
                     f"{f['nominal']:,.0f} ({f['low']:,.0f} - {f['high']:,.0f})",
                     f"T={s90.get('T')}: {s90['fps_per_watt']:,.0f}" if s90.get("fps_per_watt") else "-",
                     f"T={s95.get('T')}: {s95['fps_per_watt']:,.0f}" if s95.get("fps_per_watt") else "-"])
    lines.append(table(["profile, input cost", "cores", f"energy at T={d['T'][-1]} (low - high)", "input",
                        "SOP + neurons", "static", "latency", "FPS/W (low - high)", "SOP90 FPS/W", "SOP95 FPS/W"],
                       rows, "lrrrrrrrrr"))
    a = next(iter(d["estimates"].values()))["ann"]
    e = d["estimates"]["seed-generic per-step"]
    lines += ["", f"SOP per image at T={d['T'][-1]}: {e['sop']:,.0f}; first-layer input events per image: "
                  f"{e['input_macs']:,.0f} (per-step: synapses, no padding taps) or "
                  f"{d['estimates']['seed-generic once']['input_macs']:,.0f} MACs (once, on the host)",
              f"ANN baseline (seed-generic, 12.5 pJ/MAC): {a['macs']:,} MACs, {_si(a['energy_j'], 'J')}, "
              f"{a['fps_per_watt']:,.0f} FPS/W",
              f"pre-run estimate from calibration statistics at T={d['pre_run']['T']}: "
              f"{d['pre_run']['sop_estimate']:,.0f} SOP vs {d['pre_run']['sop_simulated']:,.0f} simulated "
              f"({100 * (d['pre_run']['sop_estimate'] / d['pre_run']['sop_simulated'] - 1):+.1f}%)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="MNIST test images (default 1000)")
    p.add_argument("--T", default="8,16,32,64")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    d = run(args.n, [int(t) for t in args.T.split(",")])
    print(json.dumps(d, indent=1, default=float) if args.json else render(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
