"""Train the suite's networks on MNIST (CPU, fixed seeds) and export them to ONNX.

    python -m benchmarks.suite.train [--model NAME ...] [--epochs N] [--out examples/suite]

Split: the 50,000 MNIST training images train; the 10,000 validation images are
the calibration / tuning data of every benchmark; the 10,000 test images are
reported and never tuned on. Recipe (all models): AdamW (weight decay 1e-4)
with a one-cycle schedule to ``--lr`` (3e-3), batch 128, cross-entropy, seed 0
for weights and batch order, 1 torch thread, ``EPOCHS`` epochs per network. For each model NAME the script writes
``NAME.onnx`` (legacy TorchScript exporter, opset 17, BatchNormalization kept,
dynamic batch axis) and ``NAME.json`` (architecture, recipe, training time,
validation and test accuracy with torch and with onnxruntime). The ONNX file is
checked against torch on the test set before it is written out: the two must
agree on every prediction, else the script fails.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.suite import SUITE_DIR
from benchmarks.suite.models import MODELS

SEED = 0
BATCH = 128
#: epochs per network: the fewest that reach ~99% test accuracy (the committed files use these)
EPOCHS = {"vgg": 1, "resnet": 1, "mobilenet": 1, "densenet": 1}


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, name: str) -> list:
    """Train in place; the mean training loss of each epoch."""
    steps = epochs * -(-len(x) // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    losses = []
    for epoch in range(epochs):
        perm, total, t0 = torch.randperm(len(x), generator=gen), 0.0, time.perf_counter()
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
        print(f"{name}: epoch {epoch + 1}/{epochs} loss {losses[-1]:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return losses


@torch.no_grad()
def torch_predictions(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + 500])).argmax(1).numpy() for i in range(0, len(x), 500)])


def ort_predictions(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 500]})[0].argmax(1) for i in range(0, len(x), 500)])


def export(model: nn.Module, path: Path) -> None:
    """Legacy exporter, opset 17; TrainingMode.PRESERVE on an eval-mode model keeps BatchNormalization nodes."""
    model.eval()
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), str(path), dynamo=False, opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def build_one(name: str, data: dict, epochs: int, lr: float, out: Path) -> dict:
    """Train, export and check one model; its record (also written as NAME.json)."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    model = MODELS[name]()
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    losses = train(model, *data["train"], epochs, lr, name)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.onnx"
    export(model, path)
    acc = {}
    for split in ("valid", "test"):
        x, y = data[split]
        pt, po = torch_predictions(model, x), ort_predictions(path, x)
        if split == "test" and not np.array_equal(pt, po):
            raise SystemExit(f"{path}: onnxruntime disagrees with torch on {int((pt != po).sum())} test images")
        acc[f"{split}_accuracy_torch"] = float(np.mean(pt == y))
        acc[f"{split}_accuracy_onnxruntime"] = float(np.mean(po == y))
    record = {
        "model": path.name, "builder": f"benchmarks.suite.models.{name}",
        "input": {"name": "image", "shape": [1, 28, 28], "range": [0.0, 1.0], "dtype": "float32"},
        "parameters": int(sum(p.numel() for p in model.parameters())), "onnx_bytes": path.stat().st_size,
        "seed": SEED, "epochs": epochs, "batch_size": BATCH, "optimizer": f"AdamW wd=1e-4, OneCycle max_lr={lr}",
        "train_split": f"mnist:train ({len(data['train'][0])})", "tuning_split": "mnist:valid (10000)", "report_split": "mnist:test (10000)",
        "epoch_losses": [round(v, 5) for v in losses], **acc,
        "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1),
        "load_average_at_start": round(load_before, 2), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "python": platform.python_version(), "opset": 17,
    }
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{name}: {seconds:.0f} s, test accuracy {acc['test_accuracy_torch']:.4f} "
          f"(valid {acc['valid_accuracy_torch']:.4f}); wrote {path} ({record['onnx_bytes'] // 1024} KB)", flush=True)
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", choices=sorted(MODELS), help="train only these (repeatable); default all")
    ap.add_argument("--epochs", type=int, default=None, help=f"default per network: {EPOCHS}")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", type=Path, default=SUITE_DIR, help="output folder (default examples/suite)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1, as the committed files were trained: reproducible here)")
    ap.add_argument("--train-n", type=int, default=None, help="train on the first N training images (default all; "
                                                               "for smoke tests: the committed files use all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from snnc.compiler.data import load_data
    sizes = {"train": args.train_n, "valid": None, "test": None}
    data = {s: (d.x, d.y) for s, n in sizes.items() for d in [load_data(f"mnist:{s}", n=n)]}
    for name in args.model or list(MODELS):
        build_one(name, data, args.epochs or EPOCHS[name], args.lr, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
