"""``snnc finetune``: train a converted network for small T with one of the papers' methods.

    snnc finetune model.snnc --data mnist --T 4 --method idsnn --epochs 2 -o tuned.snnc

Methods (docs/algorithms.md, "Fine-tuning"): ``idsnn`` (BPTT + distillation
from the ANN; ``--teacher model.onnx`` replaces the artifact's own ANN),
``snn2ann`` (weight-shared ANN branch on spike counts, adaptive thresholds),
``pipe-s`` (sharpened-ReLU SANN stage, then BPTT). The data must be labelled;
``mnist`` trains on the 50,000 training images and validates on MNIST's 10,000
validation images, other data holds out ``--valid-fraction``. A checkpoint
(default ``OUTPUT.ckpt``) is written after every epoch and every
``--checkpoint-every`` steps; ``--resume`` continues an interrupted run to the
same result; it is deleted once the artifact is written. The output is an
ordinary artifact for ``simulate``, ``run``, ``export`` and ``estimate``.
torch is imported only when the command runs.
"""
from __future__ import annotations

from pathlib import Path

from snnc.cli.common import check_writable, print_json, table

HELP = "fine-tune a compiled network at small T (idsnn, snn2ann or pipe-s); needs torch"
METHOD_NAMES = ("idsnn", "snn2ann", "pipe-s")


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--data", required=True, help="labelled training data: 'mnist', an .npz with x and y, or a "
                                                  "class-per-subfolder image folder")
    p.add_argument("--method", required=True, choices=METHOD_NAMES, help="fine-tuning method")
    p.add_argument("--T", type=int, default=4, help="time steps to train for (default 4)")
    p.add_argument("--epochs", type=int, default=1, help="epochs (default 1)")
    p.add_argument("--teacher", default=None, help="idsnn: ONNX teacher (default: the artifact's source ANN)")
    p.add_argument("-o", "--output", required=True, help="the fine-tuned artifact (.snnc)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the method's paper value")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per method, see docs)")
    p.add_argument("--seed", type=int, default=0, help="seed of batch order and validation split (default 0)")
    p.add_argument("--n", type=int, default=None, help="train on the first N samples (a quick subset)")
    p.add_argument("--valid-fraction", type=float, default=0.1,
                   help="held-out validation share for data without its own split (default 0.1)")
    p.add_argument("--patience", type=int, default=2, help="stop after this many epochs without a better "
                                                           "validation accuracy (default 2)")
    p.add_argument("--keep", choices=("best", "last"), default="best",
                   help="the result: the best validation epoch (default; epoch 0 is the converted network) or "
                        "the last")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (default: OUTPUT.ckpt)")
    p.add_argument("--checkpoint-every", type=int, default=200, help="steps between mid-epoch checkpoints "
                                                                     "(default 200; 0: epoch ends only)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--device", default="cpu", help="torch device (default cpu; e.g. cuda)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    from snnc.cli import data_options
    data_options.add_arguments(p, from_artifact=True)


def run(args) -> int:
    from snnc.compiler.artifact import load
    from snnc.cli import data_options
    from snnc.compiler.data.training import load_training
    from snnc.runtime.finetune import FinetuneConfig, check_T, finetune, remove_checkpoint
    from snnc.runtime.finetune.teacher import load_teacher

    from snnc.compiler.errors import UsageError
    if args.teacher and args.method != "idsnn":
        raise UsageError(f"--teacher applies to --method idsnn (distillation) only, not {args.method}")
    out = check_writable(args.output, "-o")
    ckpt = Path(args.checkpoint) if args.checkpoint else Path(str(out) + ".ckpt")
    cfg = FinetuneConfig(method=args.method, T=args.T, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, patience=args.patience, keep=args.keep,
                         checkpoint_every=args.checkpoint_every).resolved()
    art = load(args.model)
    check_T(art, cfg.T)
    teacher, teacher_name = (load_teacher(art, args.teacher) if args.method == "idsnn" else (None, ""))
    k = art.snn.node(art.snn.outputs[0]).shape[0]
    train, valid = load_training(args.data, art.snn.inputs[0].shape, k, n=args.n,
                                 valid_fraction=args.valid_fraction, seed=args.seed,
                                 **data_options.load_kwargs(args, art.meta))
    try:
        tuned, report = finetune(art, train, valid, cfg, teacher=teacher, teacher_name=teacher_name,
                                 checkpoint=ckpt, resume=args.resume, device=args.device, threads=args.threads)
    except KeyboardInterrupt:
        if ckpt.exists():
            import sys
            print(f"checkpoint: {ckpt}; continue with the same command and --resume", file=sys.stderr)
        raise
    tuned.save(out)
    remove_checkpoint(ckpt)
    report = {"model": args.model, "output": str(out), **report}
    print_json(report) if args.json else print(_text(report))
    return 0


def _pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


def _text(r: dict) -> str:
    rows = [[h["epoch"], "-" if h["train_loss"] is None else f"{h['train_loss']:.4f}", _pct(h["train_accuracy"]),
             _pct(h["valid_accuracy"]), f"{s:.1f}"] for h, s in zip(r["history"], r["history_seconds"])]
    lines = [f"{r['model']} -> {r['output']}: {r['method']} at T={r['T']} on {r['data']['train']} "
             f"({r['data']['train_samples']} samples; validation {r['data']['valid']}, "
             f"{r['data']['valid_samples']})", "",
             table(["epoch", "train loss", "train acc", "valid acc (SNN, T)", "train s"], rows, "rrrrr"), "",
             f"validation accuracy at T={r['T']}: {_pct(r['valid_accuracy_converted'])} converted -> "
             f"{_pct(r['valid_accuracy'])} fine-tuned (epoch {r['kept_epoch']}, {'best' if r['keep'] == 'best' else 'last'}"
             f"{', early stop' if r['early_stopped'] else ''}); training {r['train_seconds']:.1f} s"]
    if "readout_t0" in r:
        lines.append(f"readout window re-estimated: t0 {r['readout_t0_before']:.2f} -> {r['readout_t0']:.2f} steps")
    return "\n".join(lines)
