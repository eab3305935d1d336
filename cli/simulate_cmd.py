"""``snnc simulate``: the reference NumPy IF simulator (or its torch twin) on a compiled network.

``--backend torch`` runs the same semantics in torch (``snnc.runtime.torch_sim``):
CPU threads by default (``--threads``), ``--device cuda`` when present, float32
by default (``--dtype float64``); the report, JSON and activity record are the same.

One simulation of the largest T gives every requested T: a table of accuracy
per T beside the ANN and the clip-ANN (the unfolded source graph with the
calibrated clips, ``snnc.compiler.clip_ann``: an independent reference for the
folded graph, whose prediction agreement with it is reported too),
agreement with the ANN's predictions, SOPs per image and the mean firing
rate; ``--plot`` draws accuracy vs T and the firing rate per layer;
``--activity-out`` writes the activity record for ``snnc estimate --activity``.
First-layer MACs follow the ``per-step`` convention (direct coding).
"""
from __future__ import annotations

from functools import cached_property

from snnc.cli.common import check_writable, print_json, table
from snnc.compiler.errors import UsageError
from snnc.compiler.readout import parse_delay, parse_T

HELP = "run the reference IF simulator (NumPy, or torch with --backend torch): accuracy vs T, spikes, SOPs"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--data", required=True, help="evaluation data: 'mnist' (test split), a .npy/.npz file or an image folder")
    p.add_argument("--T", default="8,16,32,64,128", help="comma-separated time steps (default 8,16,32,64,128)")
    p.add_argument("--n", type=int, default=None, help="use the first N samples (default: all)")
    p.add_argument("--batch-size", type=int, default=256, help="samples simulated together (default 256)")
    p.add_argument("--time-chunk", type=int, default=None, help="steps per chunk (default: fit ~16 MiB)")
    p.add_argument("--delay", default="auto",
                   help="readout delay: 'auto' (the artifact's window) or an integer D (used as min(D, T-1); "
                        "a warning says where it was clamped)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "torch"],
                   help="numpy (the reference, default) or torch (the same semantics; CPU threads or CUDA)")
    add_torch_arguments(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", default=None, help="write accuracy-vs-T and firing-rate plots to this PNG")
    p.add_argument("--activity-out", default=None, help="write the activity record (JSON) of the largest T")
    from snnc.cli import data_options  # --resize/--crop/--mean/--std/--normalize, as compile's
    data_options.add_arguments(p, from_artifact=True)


def add_torch_arguments(p) -> None:
    """``--device``, ``--dtype``, ``--threads``: options of the torch backend (refused with the others)."""
    p.add_argument("--device", default=None, help="torch backend: cpu (default), cuda or cuda:K")
    p.add_argument("--dtype", default=None, choices=["float32", "float64"], help="torch backend: float32 (default) or float64")
    p.add_argument("--threads", type=int, default=None, help="torch backend: CPU threads (default: torch's, all cores; on a loaded machine 1 "
                        "can be several times faster)")


def torch_options(args) -> dict:
    """The torch backend's options from ``args``; UsageError when they are given to another backend."""
    given = [f"--{k}" for k in ("device", "dtype", "threads") if getattr(args, k, None) is not None]
    if args.backend != "torch":
        if given:
            raise UsageError(f"{', '.join(given)} need{'s' if len(given) == 1 else ''} --backend torch")
        return {}
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {args.threads}")
    return {"device": args.device or "cpu", "dtype": args.dtype or "float32", "threads": args.threads}


class Evaluation:
    """What ``snnc simulate`` and ``snnc run`` share: the artifact, the data and the ANN / clip-ANN
    predictions (the clip-ANN from the unfolded source graph and the calibrated clips), from the
    common arguments."""

    def __init__(self, args):
        from snnc.compiler.artifact import load
        from snnc.cli import data_options
        from snnc.compiler.data import load_data
        self.Ts, self.delay = parse_T(args.T), parse_delay(args.delay)
        self.art = art = load(args.model)
        k = art.snn.node(art.snn.outputs[0]).shape[0]
        self.data = load_data(args.data, input_shape=art.snn.inputs[0].shape, n=args.n, num_classes=k,
                              **data_options.load_kwargs(args, art.meta))  # default: the artifact's preprocessing

    @cached_property
    def ann_pred(self):
        """The ANN's predictions: one ANN pass over the data, run on first use (after the memory check)."""
        from snnc.compiler.execute import predict
        return predict(self.art.ann, self.data.x).argmax(1)

    @cached_property
    def clip_pred(self):
        """The clip-ANN's predictions from the source graph with the calibrated clips, run on first use
        (an artifact without a calibration record, e.g. hand-built, or a fine-tuned one: the folded graph
        under the ANN executor)."""
        from snnc.compiler.clip_ann import clip_ann_outputs, has_reference
        from snnc.compiler.execute import predict
        if not has_reference(self.art):
            return predict(self.art.snn, self.data.x).argmax(1)
        out = clip_ann_outputs(self.art, self.data.x)
        return out.reshape(len(out), -1).argmax(1)

    @property
    def clip_source(self) -> str:
        from snnc.compiler.clip_ann import has_reference
        if has_reference(self.art):
            return "source graph"
        return "folded graph (" + ("fine-tuned weights" if "finetune" in self.art.meta else "no calibration record") + ")"

    @cached_property
    def folded_agreement(self) -> float:
        """Fraction of samples where the folded SNN graph under the ANN executor predicts as the clip-ANN.

        1.0 when threshold folding is exact (up to float32 rounding at near-ties)."""
        from snnc.compiler.execute import predict
        return float((predict(self.art.snn, self.data.x).argmax(1) == self.clip_pred).mean())

    def accuracy(self, pred):
        return None if self.data.y is None else float((pred == self.data.y).mean())

    def summary(self, model: str, res) -> dict:
        """The report both commands print (JSON keys documented by ``--json``)."""
        from snnc.runtime.numpy_sim.report import layer_rates, sweep_rows
        return {"model": model, "data": self.data.name, "samples": len(self.data), "backend": res.activity.source,
                "ann_accuracy": self.accuracy(self.ann_pred), "clip_ann_accuracy": self.accuracy(self.clip_pred),
                "clip_ann_agreement": float((self.clip_pred == self.ann_pred).mean()),
                "folded_agreement": self.folded_agreement, "clip_ann_source": self.clip_source,
                "sweep": sweep_rows(res, self.ann_pred), "layers": layer_rates(res),
                "first_layer_macs_per_step": res.activity.first_layer_macs,
                "first_layer_convention": res.activity.first_layer_convention,
                "neuron_updates_per_image": res.activity.neuron_updates}


def run(args) -> int:
    from snnc.runtime.numpy_sim import check_memory, simulate
    from snnc.runtime.numpy_sim.report import plot_sweep

    check_writable(args.plot, "--plot")
    check_writable(args.activity_out, "--activity-out")
    options = torch_options(args)
    if options:
        from snnc.runtime.backends import get_backend
        backend = get_backend("torch", batch_size=args.batch_size, time_chunk=args.time_chunk, **options)
    ev = Evaluation(args)
    if options:    # memory checked, and unsupported ops named, before the ANN passes
        res = backend.run(ev.art, ev.data.x, ev.Ts, y=ev.data.y, delay=ev.delay)
    else:
        check_memory(ev.art, len(ev.data), ev.Ts, args.batch_size, args.time_chunk)   # before the ANN passes
        res = simulate(ev.art, ev.data.x, T=ev.Ts, y=ev.data.y, delay=ev.delay, batch_size=args.batch_size,
                       time_chunk=args.time_chunk)
    summary = ev.summary(args.model, res)
    if options:
        summary["torch"] = torch_info(options)
    graded = "payload_histogram" in res.records
    if graded:   # sigma-delta: graded spikes, payload magnitudes |s| = 1..2^B - 1 per layer
        summary["neuron"] = "sigma-delta"
        summary["payload_histogram"] = res.records["payload_histogram"]
    res.activity.ann_accuracy = summary["ann_accuracy"]
    if args.activity_out:
        res.activity.save(args.activity_out)
    if args.plot:
        plot_sweep(summary["sweep"], summary["layers"], args.plot, summary["ann_accuracy"],
                   summary["clip_ann_accuracy"], title=f"{args.model} on {ev.data.name}")
        if graded:
            from snnc.runtime.numpy_sim.report import payload_plot_path, plot_payload
            plot_payload(summary["payload_histogram"], payload_plot_path(args.plot), title=args.model)
    print_json(summary) if args.json else print(_text(summary, args))
    return 0


def torch_info(options: dict) -> dict:
    """What the torch run used: device, dtype, CPU threads."""
    import torch
    return {"device": options["device"], "dtype": options["dtype"],
            "threads": options["threads"] or torch.get_num_threads()}


def _pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


INPUT_COST = {"per-step": "per step (the dense input layer runs on chip every step)",
              "once": "per sample (computed once on the host, injected as a current)"}


def _text(s: dict, args) -> str:
    head = (f"{s['model']} on {s['data']} ({s['samples']} samples): ANN {_pct(s['ann_accuracy'])}, "
            f"clip-ANN {_pct(s['clip_ann_accuracy'])} (agrees with the ANN on {_pct(s['clip_ann_agreement'])})")
    rows = [[r["T"], r["delay"], _pct(r["accuracy"]), _pct(r["agreement"]), f"{r['sop_per_image']:,.0f}",
             f"{r['firing_rate']:.4f}"] for r in s["sweep"]]
    graded = s.get("neuron") == "sigma-delta"
    ops, rate = ("graded ops/image", "graded spike rate") if graded else ("SOP/image", "firing rate")
    lines = [head, "", table(["T", "delay", "accuracy", "agree ANN", ops, rate], rows, "rrrrrr"),
             "", f"first-layer MACs: {s['first_layer_macs_per_step']:,} {INPUT_COST[s['first_layer_convention']]}; "
             f"neuron updates: {s['neuron_updates_per_image']:,} per image at T={s['sweep'][-1]['T']}"]
    if "torch" in s:
        t = s["torch"]
        lines.append(f"backend: torch on {t['device']}, {t['dtype']}, {t['threads']} CPU thread(s)")
    if s["folded_agreement"] < 1.0:
        lines.append(f"note: the folded network under the ANN executor predicts as the clip-ANN (unfolded source "
                     f"graph) on {_pct(s['folded_agreement'])} of the samples; only float32 near-ties should differ, "
                     f"more points to a threshold-folding bug (please report it)")
    if args.activity_out:
        lines.append(f"activity record: {args.activity_out} (use with `snnc estimate --activity`)")
    if graded:
        lines.append("sigma-delta: one graded spike per change of a neuron's code; a graded op is a "
                     "multiply-accumulate (payload x weight); the readout at T is its sum at step T")
    if args.plot:
        lines.append(f"plot: {args.plot}")
        if graded:
            from snnc.runtime.numpy_sim.report import payload_plot_path
            lines.append(f"payload histogram: {payload_plot_path(args.plot)}")
    return "\n".join(lines)
