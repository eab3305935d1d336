"""Fine-tuning the example model at T = 4: accuracy at T = 2, 4, 8 before / after, time and peak memory.

For each method (``snnc finetune``, one child process each, so that the peak
resident memory ``ru_maxrss`` is the method's own) on the first ``--n`` MNIST
training images for ``--epochs`` epochs at T = 4, and, side by side in the same
run, one epoch of training the ANN from scratch (``examples/train_mnist.py
--epochs 1``). Accuracies are the NumPy reference simulator's
(``snnc simulate``) on the first ``--test-n`` MNIST test images, for the
converted network (before) and each fine-tuned one (after). Writes a markdown
table (stdout), ``--json`` and the accuracy-vs-T plot ``--plot``.

Run from the repo root::

    python -m benchmarks.bench_finetune --n 50000 --epochs 2 --plot docs/finetune_mnist.png --json ft.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("idsnn", "snn2ann", "pipe-s")
TS = (2, 4, 8)
ROOT = Path(__file__).resolve().parents[1]


def child(argv) -> int:
    """Run one command in this process, then print its peak resident memory (MiB) and wall time."""
    t = time.perf_counter()
    if argv[0] == "snnc":
        from snnc.cli import main
        rc = main(argv[1:])
    else:
        sys.argv = argv
        import runpy
        try:
            runpy.run_path(argv[0], run_name="__main__")
            rc = 0
        except SystemExit as e:          # the script's own sys.exit(main())
            rc = e.code or 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("CHILD " + json.dumps({"rc": rc, "peak_mib": peak, "wall_s": time.perf_counter() - t}), flush=True)
    return rc


def _spawn(argv) -> tuple[dict, str]:
    env = {**os.environ, "SNNC_PROGRESS": "0"}
    res = subprocess.run([sys.executable, "-m", "benchmarks.bench_finetune", "--child", *argv], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    lines = res.stdout.splitlines()
    info = next((json.loads(l[6:]) for l in lines if l.startswith("CHILD ")), None)
    if info is None or info["rc"] != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{res.stderr[-3000:]}")
    return info, "\n".join(l for l in lines if not l.startswith("CHILD "))


def _accuracy(model: Path, test_n: int) -> dict:
    from snnc.compiler.artifact import load
    from snnc.compiler.data import load_data
    from snnc.runtime.numpy_sim import simulate
    d = load_data("mnist:test", n=test_n)
    res = simulate(load(model), d.x, T=list(TS), y=d.y)
    return {T: res.accuracy[T] for T in TS}


def plot(rows: list, before: dict, ann: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(TS, [100 * before[T] for T in TS], "k--o", label="converted (no fine-tuning)")
    for r in rows:
        ax.plot(TS, [100 * r["after"][T] for T in TS], "-o", label=f"{r['method']} (fine-tuned at T=4)")
    ax.axhline(100 * ann, color="grey", lw=1, label=f"ANN {100 * ann:.2f}%")
    ax.set_xscale("log", base=2)
    ax.set_xticks(TS, [str(T) for T in TS])
    ax.set_xlabel("time steps T")
    ax.set_ylabel("MNIST test accuracy (%)")
    ax.set_title("example model: accuracy vs T before / after fine-tuning")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _table(rows, before, ann, ann_epoch) -> str:
    head = "| method | T=2 | T=4 | T=8 | epochs | train time | peak memory |\n|---|---|---|---|---|---|---|"
    lines = [head, f"| converted (before) | {100 * before[2]:.2f}% | {100 * before[4]:.2f}% | {100 * before[8]:.2f}% "
                   f"| - | - | - |"]
    for r in rows:
        a = r["after"]
        lines.append(f"| {r['method']} | {100 * a[2]:.2f}% | {100 * a[4]:.2f}% | {100 * a[8]:.2f}% | "
                     f"{r['epochs_run']} | {r['train_seconds']:.0f} s ({r['train_seconds'] / max(r['epochs_run'], 1):.0f} s/epoch) "
                     f"| {r['peak_mib']:.0f} MiB |")
    if ann_epoch:
        lines.append(f"| ANN from scratch, 1 epoch (`examples/train_mnist.py`) | | | | 1 | {ann_epoch['train_s']:.0f} s "
                     f"| {ann_epoch['peak_mib']:.0f} MiB |")
    return "\n".join(lines) + f"\n\nANN: {100 * ann:.2f}%"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50000, help="training images (default all 50,000)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--test-n", type=int, default=10000)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--skip-ann", action="store_true", help="do not time the ANN epoch")
    args = ap.parse_args(argv)
    import snnc
    from snnc.compiler.data import example_model_path
    work = args.workdir or Path(tempfile.mkdtemp(prefix="snnc_ft_"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / "m.snnc"
    if not base.exists():
        snnc.compile(str(example_model_path()), "mnist").save(base)
    from snnc.compiler.artifact import load
    from snnc.compiler.data import load_data
    from snnc.compiler.execute import predict
    d = load_data("mnist:test", n=args.test_n)
    ann = float((predict(load(base).ann, d.x).argmax(1) == d.y).mean())
    before = _accuracy(base, args.test_n)
    print(f"converted: {before}, ANN {ann:.4f}", flush=True)
    rows = []
    for m in args.methods.split(","):
        out = work / f"{m}.snnc"
        info, text = _spawn(["snnc", "finetune", str(base), "--data", "mnist", "--n", str(args.n), "--T", "4",
                             "--method", m, "--epochs", str(args.epochs), "--threads", str(args.threads),
                             "-o", str(out), "--json"])
        rep = json.loads(text)
        rows.append({"method": m, "after": _accuracy(out, args.test_n), "epochs_run": rep["epochs_run"],
                     "train_seconds": rep["train_seconds"], "wall_seconds": info["wall_s"],
                     "peak_mib": info["peak_mib"], "valid": [h["valid_accuracy"] for h in rep["history"]],
                     "kept_epoch": rep["kept_epoch"]})
        print(json.dumps(rows[-1]), flush=True)
        _dump(args.json, ann, before, None, rows, args)
    ann_epoch = None
    if not args.skip_ann:
        ann_info, _ = _spawn([str(ROOT / "examples" / "train_mnist.py"), "--epochs", "1", "--out", str(work)])
        rec = json.loads((work / "mnist_cnn.json").read_text())
        ann_epoch = {"train_s": rec["train_seconds"], "peak_mib": ann_info["peak_mib"],
                     "test_accuracy": rec.get("test_accuracy_torch")}
        print(f"ANN 1 epoch: {ann_epoch}", flush=True)
    print(_table(rows, before, ann, ann_epoch))
    if args.plot:
        plot(rows, before, ann, args.plot)
    _dump(args.json, ann, before, ann_epoch, rows, args)
    return 0


def _dump(path, ann, before, ann_epoch, rows, args) -> None:
    if path:
        path.write_text(json.dumps({"ann": ann, "before": before, "ann_epoch": ann_epoch, "rows": rows,
                                    "args": {k: str(v) for k, v in vars(args).items()}}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(main())
