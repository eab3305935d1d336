"""``snnc compile``: convert an ONNX model into a calibrated integrate-and-fire network (.snnc).

Prints a compile report (layers, neurons, synapses, thresholds per layer, pool
modes, the delay estimate t0, the pass log, the target's resource table) or,
with ``--json``, the artifact's meta plus a layer table as JSON.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.compiler.calibrate.methods import METHODS
from snnc.compiler.cli.common import print_json, table
from snnc.compiler.passes.init_membrane import RESETS
from snnc.compiler.passes.pool_modes import POOL_MODES

HELP = "convert an ANN into a calibrated integrate-and-fire network (.snnc)"


def add_arguments(p) -> None:
    p.add_argument("model", help="ONNX model file, torchvision:NAME or FILE.py:CLASS (PyTorch)")
    p.add_argument("--weights", default=None,
                   help="PyTorch state dict (.pth) for torchvision:/FILE.py: models; DEFAULT: torchvision's own")
    p.add_argument("--input-shape", default=None, help="input shape N,C,H,W for PyTorch models (e.g. 1,3,224,224)")
    p.add_argument("--target", default="loihi2", help="hardware profile name stored in the artifact (default loihi2)")
    p.add_argument("--calib", required=True,
                   help="calibration data: 'mnist', a .npy/.npz file or an image folder")
    p.add_argument("--method", default="cltb", choices=sorted(METHODS), help="threshold calibration (default cltb)")
    p.add_argument("--percentile", type=float, default=99.9, help="p for --method percentile or cpercentile (default 99.9)")
    p.add_argument("--iters", type=int, default=None, help="calibration iterations K (default 100; batches wrap around small data)")
    p.add_argument("--batch-size", type=int, default=None, help="calibration batch size (default min(100, N))")
    p.add_argument("--delay", default="auto", help="readout delay: 'auto' (Eq. 19 estimate) or an integer")
    p.add_argument("--pool-mode", default="auto", choices=POOL_MODES, help="spiking max-pool mode (default auto)")
    p.add_argument("--reset", default="subtract", choices=RESETS, help="neuron reset (default subtract)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a threshold/activation plot to this PNG")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-o", "--output", default=None, help="artifact path (default: <model name>.snnc in cwd)")


def run(args) -> int:
    from snnc.compiler.compile import compile as compile_model
    from snnc.frontends import is_onnx, load_model, model_stem
    model = args.model
    if not is_onnx(model) or args.weights or args.input_shape:
        model = load_model(args.model, weights=args.weights, input_shape=args.input_shape)
    art = compile_model(model, args.calib, target=args.target, method=args.method, iters=args.iters,
                        batch_size=args.batch_size, delay=args.delay, pool_mode=args.pool_mode,
                        reset=args.reset, percentile=args.percentile)
    if not is_onnx(args.model):
        art.meta["source"] = {"path": args.model, "sha256": None, "weights": args.weights}
    out = Path(args.output) if args.output else Path(model_stem(args.model) + ".snnc")
    art.save(out)
    if args.plot:
        from snnc.compiler.calibrate.plot import plot_calibration
        plot_calibration(art.meta["calibration"], args.plot)
    rows = layer_rows(art)
    if args.json:
        print_json({"artifact": str(out), "layers": rows, **art.meta})
    else:
        print(report(art, rows, out))
    return 0


def layer_rows(art) -> list[dict]:
    """One row per neuron layer and the readout: neurons, synapse weights, thresholds (unfolded)."""
    cal = art.meta["calibration"]["layers"]
    rows = []
    for n in art.snn.nodes:
        if n.type == "IFNeuron":
            s = cal[n.name]
            rows.append({"layer": n.name, "kind": "IFNeuron", "neurons": int(np.prod(n.shape)),
                         "shape": list(n.shape), "theta_min": s["threshold"]["min"],
                         "theta_median": s["threshold"]["median"], "theta_max": s["threshold"]["max"],
                         "dead": s["dead_channels"], "rate": s["expected_rate"]})
    out = art.snn.node(art.snn.outputs[0])
    rows.append({"layer": out.name, "kind": "readout", "neurons": int(np.prod(out.shape)), "shape": list(out.shape),
                 "theta_min": None, "theta_median": None, "theta_max": None, "dead": 0, "rate": None})
    return rows


def report(art, rows, path) -> str:
    m = art.meta
    cal = m["calibration"]
    weights = sum(int(a.size) for n in art.snn.nodes for k, a in n.op.arrays().items() if k == "weight")
    lines = [f"compiled {m['source']['path'] or '<graph>'} -> {path} (target {m['target']})",
             f"calibration: {cal['method']}, {cal['iters']} iterations x batch {cal['batch_size']} "
             f"on {cal['samples']} samples ({cal['data']})",
             f"neurons: {sum(r['neurons'] for r in rows[:-1]):,} in {len(rows) - 1} layers; "
             f"synaptic weights: {weights:,}; reset: {m['options']['reset']}; spikes on v {m['spike_comparison']} 1",
             "", table(["layer", "kind", "shape", "neurons", "theta min", "median", "max", "dead", "rate"],
                       [[r["layer"], r["kind"], "x".join(map(str, r["shape"])), r["neurons"],
                         _num(r["theta_min"]), _num(r["theta_median"]), _num(r["theta_max"]), r["dead"],
                         _num(r["rate"])] for r in rows], align="llllrrrrr")]
    if m["pool_modes"]:
        lines += ["", "max pools: " + ", ".join(f"{k} {v}" for k, v in m["pool_modes"].items())]
    r = m["readout"]
    lines += ["", f"readout delay: estimated t0 = {cal['t0']:.2f} steps; "
              + ("auto: D = clamp(floor(t0), 0, T-4)" if r["mode"] == "auto" else f"fixed D = {r['delay']}")]
    lines += ["", "pass log:"] + [f"  {e['pass']}: {c}" for e in m["pass_log"] for c in e["changes"]]
    lines += ["", resources_text(art)]
    return "\n".join(lines)


def resources_text(art) -> str:
    """INTEGRATION POINT with helper "hw": snnc.compiler.analysis.resources.summary_table(graph, profile)."""
    try:
        from snnc.compiler.analysis.resources import summary_table
    except ImportError:
        return f"resources: no resource analysis installed for target {art.meta['target']!r}"
    return summary_table(art.snn, art.meta["target"])


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"
