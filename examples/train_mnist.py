"""Train the example model: a small residual CNN on real MNIST, exported to ONNX.

    python examples/train_mnist.py [--epochs 3] [--out examples/]

Network (input: raw pixels in [0, 1], shape (N, 1, 28, 28))::

    conv 1->16 3x3 p1 - BN - ReLU - maxpool 2               28x28 -> 14x14
    residual block: conv 16->16 - BN - ReLU - conv 16->16 - BN, + identity, ReLU
    maxpool 2                                               14x14 -> 7x7
    conv 16->32 3x3 p1 - BN - ReLU - flatten - linear 1568->10

Trained on the 50,000 MNIST training images (fixed seeds, CPU, 2 threads),
evaluated on the 10,000 test images with torch and with onnxruntime. Writes
``mnist_cnn.onnx`` (legacy TorchScript exporter, opset 17, BatchNormalization
kept, dynamic batch axis) and ``mnist_cnn.json`` (architecture, seed, epochs,
training time, test accuracies).
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

from snnc.compiler.data import load_data

SEED = 0
BATCH = 128
LR = 3e-3


def conv_bn(cin: int, cout: int) -> list:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]


class Residual(nn.Module):
    """y = ReLU(BN(conv(ReLU(BN(conv(x))))) + x)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c, c), nn.ReLU(), *conv_bn(c, c))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + x)


def build_model() -> nn.Module:
    return nn.Sequential(
        *conv_bn(1, 16), nn.ReLU(), nn.MaxPool2d(2),
        Residual(16), nn.MaxPool2d(2),
        *conv_bn(16, 32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    steps = epochs * -(-len(x) // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: train loss {total / len(x):.4f}", flush=True)


@torch.no_grad()
def torch_predictions(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + 1000])).argmax(1).numpy()
                           for i in range(0, len(x), 1000)])


def ort_predictions(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1000]})[0].argmax(1) for i in range(0, len(x), 1000)])


def export(model: nn.Module, path: Path) -> None:
    """Legacy exporter, opset 17; TrainingMode.PRESERVE on an eval-mode model skips the
    exporter's Conv+BN fusion, so BatchNormalization nodes stay for snnc's folding pass."""
    model.eval()
    warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), str(path), dynamo=False, opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def summary(model: nn.Module) -> list:
    return [f"{name}: {m}" for name, m in model.named_modules() if name and not list(m.children())]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = ap.parse_args(argv)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    tr, te = load_data("mnist:train"), load_data("mnist:test")
    model = build_model()
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    train(model, tr.x, tr.y, args.epochs)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "mnist_cnn.onnx"
    export(model, onnx_path)
    acc_torch = float((torch_predictions(model, te.x) == te.y).mean())
    correct_ort = int((ort_predictions(onnx_path, te.x) == te.y).sum())
    info = {
        "model": "mnist_cnn.onnx", "architecture": summary(model),
        "input": {"name": "image", "shape": [1, 28, 28], "range": [0.0, 1.0], "dtype": "float32"},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "seed": SEED, "epochs": args.epochs, "batch_size": BATCH, "optimizer": f"AdamW OneCycle max_lr={LR}",
        "train_images": len(tr), "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1), "load_average_at_start": round(load_before, 2), "test_images": len(te),
        "test_accuracy_torch": acc_torch, "test_correct_onnxruntime": correct_ort,
        "test_accuracy_onnxruntime": correct_ort / len(te),
        "torch": torch.__version__, "python": platform.python_version(), "opset": 17,
        "exporter": "torch.onnx.export(dynamo=False, training=PRESERVE): BatchNormalization kept",
    }
    (args.out / "mnist_cnn.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"trained {args.epochs} epochs in {seconds:.0f} s; test accuracy torch {acc_torch:.4f}, "
          f"onnxruntime {correct_ort / len(te):.4f}; wrote {onnx_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
