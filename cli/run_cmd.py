"""``snnc run``: a compiled network on a backend (``numpy`` reference, ``torch`` or ``lava``).

``--backend torch``: the NumPy reference's semantics in torch (``--device``,
``--dtype``, ``--threads`` as ``snnc simulate``'s).

Same report as ``snnc simulate`` (accuracy per T, agreement with the ANN, SOPs,
firing rates per layer). ``--backend lava`` runs all samples in one Lava run on
Loihi2SimCfg; ``--fixed-point`` uses Loihi's integer arithmetic (weights of the
profile's bit width, per-layer exponents) and reports the quantisation and the
accuracy change against floating point; ``--stock-lif`` builds the network from
stock lava-nc processes only (Lava's LIF: reset to zero, v(0) = 0; graded input
into the first synapse; see ``snnc.runtime.lava.stock``; a max pool over
currents is refused by name) and reports the accuracy cost against reset by
subtraction. The report says which processes the run used. The floating-point
baseline of both comparisons is the NumPy simulator, which the Lava
floating-point run equals spike for spike (tested).
"""
from __future__ import annotations

from snnc.cli.common import check_writable, print_json, table
from snnc.cli.simulate_cmd import Evaluation, _pct, _text, add_torch_arguments, torch_info, torch_options

HELP = "run a compiled network on a backend (numpy, torch or lava)"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    from snnc.runtime.backends import BACKENDS   # the registry: a new backend is offered here at once
    p.add_argument("--backend", default="lava", choices=sorted(BACKENDS), help="backend (default lava)")
    p.add_argument("--data", required=True, help="evaluation data: 'mnist', a .npy/.npz file or an image folder")
    p.add_argument("--n", type=int, default=50, help="use the first N samples (default 50)")
    p.add_argument("--T", default="32", help="comma-separated time steps (default 32; one run of the largest)")
    p.add_argument("--delay", default="auto", help="readout delay: 'auto' (the artifact's) or an integer")
    p.add_argument("--fixed-point", action="store_true", help="Lava: Loihi fixed-point (bit-accurate) models")
    p.add_argument("--stock-lif", action="store_true",
                   help="Lava: stock lava-nc processes only (Lava's LIF: reset to zero)")
    p.add_argument("--profile", default=None,
                   help="hardware profile for the weight bit width (default: the artifact's compile target)")
    p.add_argument("--timeout", type=float, default=3600.0, help="stop a Lava run after this many seconds")
    add_torch_arguments(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--activity-out", default=None,
                   help="write the activity record (JSON) of the largest T, for `snnc estimate --activity`")
    from snnc.cli import data_options  # --resize/--crop/--mean/--std/--normalize, as compile's
    data_options.add_arguments(p, from_artifact=True)


def run(args) -> int:
    from snnc.compiler.errors import UsageError
    from snnc.runtime.backends import get_backend

    if args.backend != "lava" and (args.fixed_point or args.stock_lif):
        raise UsageError("--fixed-point and --stock-lif need --backend lava")
    check_writable(args.activity_out, "activity record")
    t_options = torch_options(args)
    if args.backend == "lava":
        from snnc.runtime.lava.available import require_lava
        require_lava()  # one line at once, before the model and the data are loaded
    if args.backend == "torch":
        get_backend("torch", **t_options)   # torch importable, the device present: before loading anything
    bits = None if args.profile is None else _weight_bits(args.profile)  # a bad --profile fails before loading
    ev = Evaluation(args)
    bits = bits if bits is not None else _weight_bits(ev.art.info.target or "loihi2")
    options = {"torch": t_options}.get(args.backend, {}) if args.backend != "lava" else dict(
        fixed=args.fixed_point, stock=args.stock_lif, weight_bits=bits, timeout=args.timeout)
    res = get_backend(args.backend, **options).run(ev.art, ev.data.x, ev.Ts, y=ev.data.y, delay=ev.delay)
    summary = ev.summary(args.model, res)
    if t_options:
        summary["torch"] = torch_info(t_options)
    if args.activity_out:
        res.activity.ann_accuracy = summary["ann_accuracy"]
        res.activity.save(args.activity_out)
    if "lava" in res.details:   # the Lava backend's own run record (runtime/result.py)
        summary["lava"] = _lava_info(res.details["lava"], len(ev.data), ev.Ts[-1])
    if args.fixed_point or args.stock_lif:
        summary["baseline"] = _baseline(ev.art, ev.data, ev.Ts, ev.delay, res, ev.ann_pred)
    print_json(summary) if args.json else print(_report(summary, args))
    return 0


def _weight_bits(profile: str) -> int:
    """The profile's synaptic weight bits (limits.weight_bits; 8 when the profile sets none)."""
    from snnc.compiler.hardware.profile import load_profile
    return int(load_profile(profile).limit("weight_bits") or 8)


def _lava_info(raw, n: int, T: int) -> dict:
    kinds = raw.process_types
    used = (f"stock processes only ({', '.join(kinds.get('stock', []))})" if not kinds.get("custom") else
            f"custom ProcessModels {', '.join(kinds['custom'])} run on the host CPU in simulation")
    return {"os_processes": raw.processes, "lava_processes": raw.lava_processes, "seconds": raw.seconds,
            "steps": raw.steps, "seconds_per_sample_step": raw.seconds / max(1, n * T),
            "numerics": raw.numerics, "saturated": raw.saturated, "process_types": kinds,
            "fused_pools": raw.fusions, "host_cpu_processes": used}


def _baseline(art, data, Ts, delay, res, ann_pred) -> dict:
    """Floating-point, reset-by-subtraction accuracy (NumPy simulator) and the change against it."""
    from snnc.runtime.backends import get_backend
    from snnc.runtime.numpy_sim.report import sweep_rows
    ref = get_backend("numpy").run(art, data.x, Ts, y=data.y, delay=delay)
    rows = sweep_rows(ref, ann_pred)
    sd = art.meta.get("neurons", {}).get("kind") == "sigma-delta"
    out = {"description": "the B-bit quantised network (NumPy sigma-delta simulator)" if sd else
           "floating point, reset by subtraction (NumPy simulator)", "sweep": rows, "change": []}
    for r, b, t in zip(sweep_rows(res, ann_pred), rows, Ts):
        agree = float((res.predictions(t) == ref.predictions(t)).mean())
        d = None if r["accuracy"] is None else r["accuracy"] - b["accuracy"]
        out["change"].append({"T": t, "accuracy_change": d, "agreement_with_baseline": agree})
    return out


def _report(s: dict, args) -> str:
    text = [f"backend: {s['backend']}", _text(s, _TextOptions(args.activity_out))]
    if "lava" in s:
        li = s["lava"]
        text.append(f"Lava: {li['lava_processes']} Lava processes, {li['os_processes']} OS processes, "
                    f"{li['steps']} steps in {li['seconds']:.1f} s "
                    f"({1e3 * li['seconds_per_sample_step']:.2f} ms per sample per step); "
                    f"{li['host_cpu_processes']}")
        text += [f"fused: {f}" for f in li["fused_pools"] if "not fused" not in f]
        if li["numerics"].get("format") == "fixed_pt":
            text.append(_fixed_table(li))
        text += [f"warning: {w}" for w in li["numerics"].get("warnings", [])]
    if "baseline" in s:
        b = s["baseline"]
        rows = [[c["T"], _pct(r["accuracy"]), _pct(c["accuracy_change"]) if c["accuracy_change"] is not None
                 else "-", _pct(c["agreement_with_baseline"])] for c, r in zip(b["change"], b["sweep"])]
        text += ["", f"against {b['description']}:",
                 table(["T", "baseline accuracy", "change", "same prediction"], rows, "rrrr")]
    return "\n".join(text)


def _fixed_table(li) -> str:
    num = li["numerics"]
    rows = [[k, v.get("exponents", v["exponent"]), v.get("vth_mantissa", "-"), v["weights_clipped"], v["bias_clipped"],
             v["currents_clipped"], li["saturated"].get(k, "-")] for k, v in num["layers"].items()]
    graded = num.get("input")
    graded = (f"; graded input round(x * 2^{graded['input_bits']}) into the first synapses "
              f"({graded['clipped']} values clipped), whose layers' thresholds carry that 2^ib too") if graded else ""
    note = num.get("note") or (f"{num['weight_bits']}-bit weights, exponent k per layer or per output channel "
                               f"(threshold = 2^k << 6; Conv weight_exp unused){graded}")
    return "\n".join(["", f"fixed point: {note}",
                      table(["layer", "k", "vth mant", "w clipped", "bias clipped", "input clipped", "v saturated"],
                            rows, "lrrrrrr")])


class _TextOptions:
    """The options ``simulate_cmd._text`` reads; ``snnc run`` draws no plot."""
    plot = None

    def __init__(self, activity_out=None):
        self.activity_out = activity_out
