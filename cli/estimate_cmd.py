"""``snnc estimate``: resources, energy, latency, FPS and FPS/W of a compiled network on a profile.

The profile defaults to the artifact's compile target; ``--input-cost`` chooses how
the first layer's dense MACs are charged (``activity.CONVENTIONS``), by default as
the activity record says; SOP90 / SOP95 rows say "not reached" with the sweep's
best accuracy when a level is not reached; ``--plot`` is checked before any work.
"""
from __future__ import annotations

from snnc.compiler.analysis.activity import CONVENTIONS
from snnc.cli.common import check_writable, print_json, table

HELP = "resources, energy, latency and FPS/W on a hardware profile"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--profile", default=None, metavar="NAME|PATH.toml",
                   help="hardware profile: a bundled name (see `snnc profiles`) or your own TOML file "
                        "(default: the artifact's compile target, else loihi2)")
    p.add_argument("--activity", metavar="RUN.json",
                   help="activity record from `snnc simulate` or `snnc run --activity-out` (NumPy or Lava); "
                        "default: pre-run estimate "
                        "from the calibration statistics")
    p.add_argument("--T", type=int, default=None, help="time steps (default 32, or the activity record's T)")
    p.add_argument("--ann-profile", default="seed-generic", metavar="NAME|PATH.toml",
                   help="ANN baseline profile (MACs x e_mac; default seed-generic, e.g. cmos45)")
    p.add_argument("--input-cost", choices=sorted(CONVENTIONS), default=None,
                   help="first-layer MACs of the analog input: 'per-step' = dense MACs every step (the input "
                        "drives the first layer on chip each step), 'once' = once per sample (the host computes "
                        "the first layer and injects it as a bias current); default: the activity record's "
                        "convention (simulate and the pre-run estimate: per-step; run --backend lava: once)")
    p.add_argument("--host-io", action="store_true",
                   help="include host I/O in the latency: the input's bytes (1 byte a value, every step or once per "
                        "--input-cost) x the profile's timing.t_io_byte, with static power over that time "
                        "(default: excluded, and the report says so)")
    p.add_argument("--sop-only", action="store_true",
                   help="also print the seed paper's op-count convention: energy = SOPs x e_sop only (no neuron "
                        "updates, input MACs, static power or routing), its FPS/W = 1 / that energy")
    p.add_argument("--ignore-fit", action="store_true",
                   help="estimate even if the network does not fit the profile (failing layers' cores are lower bounds)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="PNG", help="write per-layer energy bars and the FPS/W range as a PNG")


def _si(x, unit: str) -> str:
    if x is None:
        return "-"
    for f, p in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(x) >= f or f == 1e-15:
            return f"{x / f:.4g} {p}{unit}"
    return f"{x:.4g} {unit}"


def _num(x) -> str:
    return "-" if x is None else f"{x:,.4g}" if x < 1e4 else f"{x:,.0f}"


def _range_rows(r: dict) -> list:
    rows = [["energy / inference"] + [_si(r["energy_j"][w], "J") for w in ("low", "nominal", "high")],
            ["latency"] + [_si(r["latency_s"][w], "s") for w in ("low", "nominal", "high")],
            ["FPS"] + [_num(r["fps"][w]) for w in ("low", "nominal", "high")],
            ["FPS/W (frames/J)"] + [_num(r["fps_per_watt"][w]) for w in ("low", "nominal", "high")]]
    if r["ann"]:
        a = r["ann"]
        rows += [[f"ANN energy ({a['profile']})"] + [_si(a["energy_j"][w], "J") for w in ("low", "nominal", "high")],
                 [f"ANN FPS/W ({a['profile']})"] + [_num(a["fps_per_watt"][w]) for w in ("low", "nominal", "high")]]
    if r.get("host_io") and r["host_io"]["included"]:
        h = r["host_io"]
        rows.append([f"  of which host I/O ({_num(h['input_bytes'])} B)"]
                    + [_si(h["latency_s"][w], "s") for w in ("low", "nominal", "high")])
    for k, v in r["at_accuracy"].items():
        if v.get("sop") is not None:
            rows.append([f"SOP{k} (T={v['T']}) {_num(v['sop'])} {'graded ops' if r['counts'].get('payload_bits') else 'SOP'}: FPS/W"]
                        + [_num(v["fps_per_watt"][w]) for w in ("low", "nominal", "high")])
        elif not v["reached"]:
            b = v["best"]
            of = f"{100 * b['of_ann']:.1f}% of ANN" if b["of_ann"] is not None else f"{100 * b['accuracy']:.2f}%"
            rows.append([f"SOP{k}: not reached (best {of} at T={b['T']})", "-", "-", "-"])
        else:
            rows.append([f"SOP{k}: reached at T={v['T']}, beyond the recorded T={r['T']} (simulate longer)",
                         "-", "-", "-"])
    return rows


def _sensitivity(r: dict, top: int = 5) -> str:
    rows = [[d["constant"], d["confidence"], _num(d["fps_per_watt_at_low"]), _num(d["fps_per_watt_at_high"]),
             f"{d['factor']:.2f}x"] for d in r["sensitivity"][:top]]
    return ("sensitivity of FPS/W (one constant at its low / high end, the others nominal):\n"
            + table(["constant", "confidence", "FPS/W at low", "FPS/W at high", "spans"], rows, "llrrr"))


def format_report(r: dict, sop_only: bool = False) -> str:
    c = r["counts"]
    ic = r["input_cost"]
    head = [f"estimate on {r['profile']} ({r['profile_kind']}; {r['profile_source']}), T={r['T']}, "
            f"activity: {r['activity_source']}",
            f"SOP {_num(c['sop'])}, spikes {_num(c['spikes'])}, neuron updates {_num(c['neuron_updates'])}, "
            f"first-layer MACs {_num(c['first_layer_macs_per_step'])}/step",
            *([f"sigma-delta: {_num(c['graded_spikes'])} graded spikes of {c['payload_bits']}-bit payload "
               f"({_num(c['payload_bits_sent'])} payload bits sent), {_num(c['graded_ops'])} graded ops "
               f"(multiply-accumulates, at energy.e_graded_op)"] if c.get("payload_bits") else []),
            f"input cost: {ic['convention']} = {ic['meaning']}: {_num(c['input_macs'])} MACs per inference "
            + ("(set by --input-cost)" if ic["chosen_by"] == "--input-cost"
               else "(the activity's own convention; change it with --input-cost)")]
    rows = [[l["layer"], _si(l["sop"], "J"), _si(l["neuron"], "J"), _si(l["total"], "J"),
             f"{_si(l['low'], 'J')} - {_si(l['high'], 'J')}"] for l in r["per_layer"]]
    b = r["breakdown_j"]
    for label, k in (("input (first-layer events)", "input"), ("readout accumulators", "readout"),
                     ("spike routing (mesh hops)", "routing"), ("per-core step cost", "core"),
                     ("static", "static")):
        rows.append([label, "", _si(b[k]["nominal"], "J") if k == "readout" else "", _si(b[k]["nominal"], "J"),
                     f"{_si(b[k]['low'], 'J')} - {_si(b[k]['high'], 'J')}"])
    parts = head + ["", table(["layer", "SOP energy", "neuron energy", "total (nominal)", "range"], rows, "lrrrr"),
                    "", table(["per inference", "low", "nominal", "high"], _range_rows(r), "lrrr"), ""]
    if sop_only:
        so = r["sop_only"]
        parts += [f"SOP-only (the seed paper's convention: SOPs x e_sop, nothing else): {_si(so['energy'], 'J')}, "
                  f"FPS/W {_num(so['fps_per_watt'])}", ""]
    if r["sensitivity"]:
        parts += [_sensitivity(r), ""]
    parts += ["included: " + "; ".join(r["included"]), "not included: " + "; ".join(r["excluded"])]
    if r["latency_note"]:
        parts.append("note: " + r["latency_note"])
    res = r["resources"]
    if not res["fits"]:
        parts.append("WARNING: the network does NOT fit this profile: " + "; ".join(
            i["message"] for i in res["issues"] if i["level"] == "error"))
    parts.append(f"resources: {res['cores'] if res['cores'] is not None else '-'} cores, "
                 f"{res['chips'] if res['chips'] is not None else '-'} chip(s); "
                 f"constants' confidence: {', '.join(r['confidence'])}")
    return "\n".join(parts)


def plot(r: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 1]})
    extra = ("input", "readout", "static")
    b = r["breakdown_j"]
    names = [l["layer"] for l in r["per_layer"]] + list(extra)
    nom = [l["total"] for l in r["per_layer"]] + [b[k]["nominal"] for k in extra]
    lo = [l["low"] for l in r["per_layer"]] + [b[k]["low"] for k in extra]
    hi = [l["high"] for l in r["per_layer"]] + [b[k]["high"] for k in extra]
    ax1.bar(names, [v * 1e6 for v in nom], yerr=[[(n - a) * 1e6 for n, a in zip(nom, lo)],
                                                 [(b - n) * 1e6 for n, b in zip(nom, hi)]], capsize=3)
    ax1.set_yscale("log")
    ax1.set_ylabel("energy per inference (uJ, log)")
    ax1.set_title(f"{r['profile']}, T={r['T']}: energy per layer (nominal, low-high bars)")
    ax1.tick_params(axis="x", rotation=60)
    f = r["fps_per_watt"]
    labels, vals = [r["profile"]], [(f["low"], f["nominal"], f["high"])]
    if r["ann"]:
        a = r["ann"]["fps_per_watt"]
        labels.append(f"ANN {r['ann']['profile']}")
        vals.append((a["low"], a["nominal"], a["high"]))
    for i, (l, n, h) in enumerate(vals):
        ax2.errorbar([i], [n], yerr=[[n - l], [h - n]], fmt="o", capsize=6)
    ax2.set_xticks(range(len(labels)), labels, rotation=30)
    ax2.set_yscale("log")
    ax2.set_ylabel("FPS/W (frames per joule)")
    ax2.set_title("FPS/W range")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args) -> int:
    from snnc.compiler.analysis.estimate import estimate
    check_writable(args.plot, "--plot")
    r = estimate(args.model, profile=args.profile, activity=args.activity, T=args.T, ann_profile=args.ann_profile,
                 ignore_fit=args.ignore_fit, input_cost=args.input_cost, host_io=args.host_io).to_json()
    if args.plot:
        plot(r, args.plot)
    if args.json:
        print_json(r)
    else:
        print(format_report(r, sop_only=args.sop_only))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0
