"""``snnc simulate``: the reference NumPy IF simulator on a compiled network.

One simulation of the largest T gives every requested T: a table of accuracy
per T beside the ANN and the clip-ANN (the SNN graph under the ANN executor),
agreement with the ANN's predictions, SOPs per image and the mean firing
rate; ``--plot`` draws accuracy vs T and the firing rate per layer;
``--activity-out`` writes the activity record for ``snnc estimate --activity``.
First-layer MACs follow the ``per-step`` convention (direct coding).
"""
from __future__ import annotations

from snnc.compiler.cli.common import print_json, table
from snnc.compiler.errors import UsageError

HELP = "run the reference NumPy IF simulator: accuracy vs T, spikes, SOPs"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--data", required=True, help="evaluation data: 'mnist' (test split), a .npy/.npz file or an image folder")
    p.add_argument("--T", default="8,16,32,64,128", help="comma-separated time steps (default 8,16,32,64,128)")
    p.add_argument("--n", type=int, default=None, help="use the first N samples (default: all)")
    p.add_argument("--batch-size", type=int, default=256, help="samples simulated together (default 256)")
    p.add_argument("--time-chunk", type=int, default=None, help="steps per chunk (default: fit ~16 MiB)")
    p.add_argument("--delay", default="auto", help="readout delay: 'auto' (the artifact's) or an integer")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", default=None, help="write accuracy-vs-T and firing-rate plots to this PNG")
    p.add_argument("--activity-out", default=None, help="write the activity record (JSON) of the largest T")


def parse_T_list(text: str) -> list[int]:
    try:
        Ts = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--T must be comma-separated positive integers, got {text!r}") from None
    if not Ts or min(Ts) <= 0:
        raise UsageError(f"--T must be comma-separated positive integers, got {text!r}")
    return Ts


def _delay(text):
    if text in (None, "auto"):
        return None
    try:
        d = int(text)
    except ValueError:
        d = -1
    if d < 0:
        raise UsageError(f"--delay must be 'auto' or a non-negative integer, got {text!r}")
    return d


def run(args) -> int:
    from snnc.compiler.artifact import load
    from snnc.compiler.data import load_data
    from snnc.compiler.execute import predict
    from snnc.runtime.numpy_sim import simulate
    from snnc.runtime.numpy_sim.report import layer_rates, plot_sweep, sweep_rows

    Ts, delay = parse_T_list(args.T), _delay(args.delay)
    art = load(args.model)
    k = art.snn.node(art.snn.outputs[0]).shape[0]
    data = load_data(args.data, input_shape=art.snn.inputs[0].shape, n=args.n, num_classes=k)
    ann_pred = predict(art.ann, data.x).argmax(1)
    clip_pred = predict(art.snn, data.x).argmax(1)
    res = simulate(art, data.x, T=Ts, y=data.y, delay=delay, batch_size=args.batch_size,
                   time_chunk=args.time_chunk)
    acc = (lambda p: None if data.y is None else float((p == data.y).mean()))
    ann_acc, clip_acc = acc(ann_pred), acc(clip_pred)
    rows, layers = sweep_rows(res, ann_pred), layer_rates(res)
    res.activity.ann_accuracy = ann_acc
    if args.activity_out:
        res.activity.save(args.activity_out)
    if args.plot:
        plot_sweep(rows, layers, args.plot, ann_acc, clip_acc, title=f"{args.model} on {data.name}")
    summary = {"model": args.model, "data": data.name, "samples": len(data), "ann_accuracy": ann_acc,
               "clip_ann_accuracy": clip_acc, "sweep": rows, "layers": layers,
               "first_layer_macs_per_step": res.activity.first_layer_macs,
               "first_layer_convention": res.activity.first_layer_convention,
               "neuron_updates_per_image": res.activity.neuron_updates}
    print_json(summary) if args.json else print(_text(summary, args))
    return 0


def _pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


def _text(s: dict, args) -> str:
    head = (f"{s['model']} on {s['data']} ({s['samples']} samples): ANN {_pct(s['ann_accuracy'])}, "
            f"clip-ANN {_pct(s['clip_ann_accuracy'])}")
    rows = [[r["T"], r["delay"], _pct(r["accuracy"]), _pct(r["agreement"]), f"{r['sop_per_image']:,.0f}",
             f"{r['firing_rate']:.4f}"] for r in s["sweep"]]
    lines = [head, "", table(["T", "delay", "accuracy", "agree ANN", "SOP/image", "firing rate"], rows, "rrrrrr"),
             "", f"first-layer MACs: {s['first_layer_macs_per_step']:,} per step ({s['first_layer_convention']}); "
             f"neuron updates: {s['neuron_updates_per_image']:,} per image at T={s['sweep'][-1]['T']}"]
    if args.activity_out:
        lines.append(f"activity record: {args.activity_out} (use with `snnc estimate --activity`)")
    if args.plot:
        lines.append(f"plot: {args.plot}")
    return "\n".join(lines)
