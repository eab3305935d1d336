"""``snnc compile``: convert an ONNX model into a calibrated integrate-and-fire network (.snnc).

Prints a compile report (layers, neurons, synapses, thresholds per layer, pool
modes, the delay estimate t0, the preprocessing, the frontend's notes, the
pass log, the target's resource table) or, with ``--json``, the artifact's
meta plus a layer table as JSON. Output paths (``-o``, ``--plot``) are checked
before anything is loaded. A network that does not fit the target is still
written (it is valid for simulation); the command then ends with one
``error:`` line and exit code 8 (HardwareError).
"""
from __future__ import annotations

import sys

import numpy as np

from snnc.compiler.analysis.resources import summary_table
from snnc.compiler.artifact_meta import Neurons
from snnc.compiler.calibrate import METHOD_CHOICES, TOL
from snnc.cli import data_options
from snnc.cli.common import check_writable, print_json, table
from snnc.compiler.data.preprocess import describe
from snnc.compiler.errors import HardwareError
from snnc.compiler.passes.init_membrane import RESETS
from snnc.compiler.passes.pool_modes import POOL_MODES
from snnc.compiler.passes.sigma_delta import DEFAULT_ACT_BITS, NEURONS

HELP = "convert an ANN into a calibrated integrate-and-fire network (.snnc)"
EPILOG = ("exit codes: 0 artifact written; 8 artifact written, but the network does not fit the target's cores "
          "(the report lists the failing layers, a last error line says so; the artifact still simulates: compile "
          "for a target with larger cores or reduce those layers' fan-in), or, with nothing written, an unknown "
          "or non-spiking --target; any other non-zero code: nothing written (codes in docs/architecture.md)")


def add_arguments(p) -> None:
    p.epilog = EPILOG
    p.add_argument("model", help="ONNX model file, torchvision:NAME or FILE.py:CLASS (PyTorch)")
    p.add_argument("--weights", default=None,
                   help="PyTorch state dict (.pth) for torchvision:/FILE.py: models; DEFAULT: torchvision's own")
    p.add_argument("--input-shape", default=None, help="input shape N,C,H,W for PyTorch models (e.g. 1,3,224,224)")
    p.add_argument("--target", default="loihi2",
                   help="hardware profile (default loihi2); a network that does not fit it is written and "
                        "the command exits 8")
    p.add_argument("--calib", required=True,
                   help="calibration data: 'mnist', a .npy/.npz file or an image folder")
    p.add_argument("--method", default="auto", choices=METHOD_CHOICES,
                   help="threshold calibration (default auto: cltb unless its clip-ANN disagrees with the ANN, "
                        "then the best of ltb / percentile / max by measured agreement)")
    p.add_argument("--percentile", type=float, default=99.9, help="p for --method percentile or cpercentile (default 99.9)")
    p.add_argument("--iters", type=int, default=None,
                   help="calibration iterations K, exactly (default: until the thresholds converge, at most 1000 "
                        "batches; batches are epochs of a fixed-seed permutation)")
    p.add_argument("--tol", type=float, default=TOL,
                   help="convergence tolerance: relative change of a layer's thresholds over 20 batches (default 0.01)")
    p.add_argument("--val", default=None,
                   help="labelled data to measure the clip-ANN on ('mnist' = test split, .npz with x and y, image "
                        "folder); default: 1000 samples (10%%) held back from --calib")
    p.add_argument("--batch-size", type=int, default=None, help="calibration batch size (default min(16, N))")
    p.add_argument("--delay", default="auto", help="readout delay: 'auto' (Eq. 19 estimate) or an integer")
    p.add_argument("--pool-mode", default="auto", choices=POOL_MODES, help="spiking max-pool mode (default auto)")
    p.add_argument("--reset", default="subtract", choices=RESETS, help="neuron reset (default subtract)")
    p.add_argument("--neuron", default="if", choices=NEURONS,
                   help="neuron model: 'if' (binary integrate-and-fire, default) or 'sigma-delta' (graded spikes "
                        "carrying B-bit activation changes; needs a target with graded spikes)")
    p.add_argument("--act-bits", type=int, default=DEFAULT_ACT_BITS,
                   help=f"activation bits B of --neuron sigma-delta (default {DEFAULT_ACT_BITS}; payload B + 1 bits)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a threshold/activation plot to this PNG")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-o", "--output", default=None, help="artifact path (default: <model name>.snnc in cwd)")
    data_options.add_arguments(p)


def run(args) -> int:
    import snnc
    from snnc.frontends import model_stem
    out = check_writable(args.output or model_stem(args.model) + ".snnc", "output")
    check_writable(args.plot, "--plot")
    prep = data_options.preprocessing(args)
    art = snnc.compile(args.model, args.calib, target=args.target, weights=args.weights,
                       input_shape=args.input_shape, method=args.method, iters=args.iters,
                       batch_size=args.batch_size, delay=args.delay, pool_mode=args.pool_mode,
                       reset=args.reset, percentile=args.percentile, preprocessing=prep, val=args.val,
                       tol=args.tol, neuron=args.neuron, act_bits=args.act_bits)
    art.save(out)
    if args.plot:
        from snnc.compiler.calibrate.plot import plot_calibration
        plot_calibration(art.meta["calibration"], args.plot)
    rows = layer_rows(art)
    if args.json:
        print_json({"artifact": str(out), "layers": rows, **art.meta})
    else:
        print(report(art, rows, out))
    if not art.info.resources["fits"]:
        sys.stdout.flush()
        print(f"error: {does_not_fit(art, out)}", file=sys.stderr)
        return HardwareError.exit_code
    return 0


def does_not_fit(art, out) -> str:
    """The final one-line error of a compile whose network does not fit its target."""
    res = art.info.resources
    failing = sorted({i["layer"] for i in res["issues"] if i["level"] == "error"})
    return (f"the network does not fit target {art.info.target!r}: {len(failing)} layer(s) cannot be mapped "
            f"({', '.join(failing)}; see the resource table above); {out} was written and simulates, but to "
            f"deploy compile for a target with larger cores or reduce those layers' fan-in")


def layer_rows(art) -> list[dict]:
    """One row per neuron layer and the readout: neurons, synapse weights, thresholds (unfolded)."""
    cal = art.info.calibration.layers
    rows = []
    for n in art.snn.nodes:
        if n.type in ("IFNeuron", "SigmaDeltaNeuron"):
            s = cal[n.name]
            rows.append({"layer": n.name, "kind": n.type, "neurons": int(np.prod(n.shape)),
                         "shape": list(n.shape), "theta_min": s.threshold["min"],
                         "theta_median": s.threshold["median"], "theta_max": s.threshold["max"],
                         "dead": s.dead_channels, "rate": s.expected_rate,
                         "clipped": s.clipped, "converged_at": (s.convergence or {}).get("at")})
    out = art.snn.node(art.snn.outputs[0])
    rows.append({"layer": out.name, "kind": "readout", "neurons": int(np.prod(out.shape)), "shape": list(out.shape),
                 "theta_min": None, "theta_median": None, "theta_max": None, "dead": 0, "rate": None,
                 "clipped": None, "converged_at": None})
    return rows


def report(art, rows, path) -> str:
    m = art.info
    cal = art.meta["calibration"]
    weights = sum(int(a.size) for n in art.snn.nodes for k, a in n.op.arrays().items() if k == "weight")
    lines = [f"compiled {m.source.path or '<graph>'} -> {path} (target {m.target})",
             *calibration_lines(cal),
             f"neurons: {sum(r['neurons'] for r in rows[:-1]):,} in {len(rows) - 1} layers; "
             f"synaptic weights: {weights:,}; reset: {m.options.reset}; spikes on v {m.spike_comparison} 1",
             "", table(["layer", "kind", "shape", "neurons", "theta min", "median", "max", "dead", "rate",
                        "clipped", "converged"],
                       [[r["layer"], r["kind"], "x".join(map(str, r["shape"])), r["neurons"],
                         _num(r["theta_min"]), _num(r["theta_median"]), _num(r["theta_max"]), r["dead"],
                         _num(r["rate"]), _pct(r["clipped"], 3), _at(r, cal)] for r in rows],
                       align="llllrrrrrrr")]
    lines += ["", neuron_line(m.neurons or Neurons())]
    if m.pool_modes:
        lines += ["", "max pools: " + ", ".join(f"{k} {v}" for k, v in m.pool_modes.items())]
    r = m.readout
    lines += ["", f"readout delay: estimated t0 = {m.calibration.t0:.2f} steps; "
              + ("auto: D = clamp(floor(t0), 0, T-4)" if r.mode == "auto" else f"fixed D = {r.delay}")]
    lines += ["", f"preprocessing: {describe(m.preprocessing or {})}"]
    lines += [f"note: {n}" for n in m.notes or []]
    lines += ["", "pass log:"] + [f"  {e.name}: {c}" for e in m.pass_log for c in e.changes]
    lines += ["", summary_table(art.snn, m.target)]
    return "\n".join(lines)


def neuron_line(rec: Neurons) -> str:
    """What the neuron model's spikes cost: binary events, or graded payloads of act_bits + 1 bits."""
    if rec.kind == "if":
        return "neurons: binary integrate-and-fire (1-bit spikes; accuracy grows with T)"
    b = rec.act_bits
    return (f"neurons: sigma-delta, {b}-bit activations (step = theta / {2 ** b - 1}); each graded spike carries a "
            f"{rec.payload_bits}-bit payload (the signed change of the code) and costs a multiply-accumulate per "
            f"synapse instead of an add; a neuron sends only when its code changes (static input: once)")


def calibration_lines(cal: dict) -> list:
    """The calibration summary: method (and auto's candidates), stopping, cost, the measured clipping."""
    c, chk = cal["convergence"], cal["check"]
    stop = (f"fixed K = {cal['iters']}" if c["fixed_iters"] else
            f"converged after {cal['iters']} iterations" if c["converged"] else
            f"NOT converged within the budget of {c['budget']} iterations")
    auto = ""
    if cal.get("requested") == "auto":
        auto = " (auto; candidates: " + ", ".join(
            f"{k} {100 * v['agreement']:.2f}%" for k, v in cal["candidates"].items()) + " agreement)"
    acc = "" if chk["ann_accuracy"] is None else (f"; accuracy: ANN {_pct(chk['ann_accuracy'])}, "
                                                   f"clip-ANN {_pct(chk['clip_accuracy'])}")
    return [f"calibration: {cal['method']}{auto}, {stop} (tolerance {c['tol']:g} over {c['window']} batches) "
            f"x batch {cal['batch_size']} on {cal['samples']} samples ({cal['data']}): "
            f"{cal['forwards_per_sample']:.2f} forward passes per calibration sample",
            f"clipping check on {chk['data']}: clip-ANN agrees with the ANN on {_pct(chk['agreement'])}{acc}",
            *[f"warning: {w}" for w in cal.get("warnings", [])]]


def _pct(v, digits: int = 2) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def _at(row: dict, cal: dict) -> str:
    if row["kind"] not in ("IFNeuron", "SigmaDeltaNeuron"):
        return "-"
    return "-" if row["converged_at"] is None else str(row["converged_at"])


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"
