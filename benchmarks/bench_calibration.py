"""Calibration cost per iteration vs one ANN forward pass, and compile time of ResNet-18 at 224x224.

    python -m benchmarks.bench_calibration [--batch 32] [--reps 5] [--json]

1. Per method (every entry of ``METHODS``): the fastest (minimum) of --reps
   interleaved runs of one calibration iteration (one forward pass of the batch
   with the real loop's hook, ``threshold_hook``: the finiteness check, the
   threshold update and the clipping) divided by the fastest of --reps plain
   ANN forward passes of the same batch (the same graph, no hook). The
   minimum, not the median, because load from other processes only ever adds
   time. Target <= 1.3x (algorithms.md section 5: inference-scale cost).
   Models: ResNet-18 (torchvision, random weights) at 64x64 and the example
   MNIST CNN when present.
2. Compile time of ResNet-18 at 224x224 (torchvision, random weights, ONNX
   via the legacy exporter): ONNX import plus every pipeline step except
   calibration and its statistics pass, per step.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc.compiler.calibrate.loop import batch, open_graph, threshold_hook
from snnc.compiler.calibrate.methods import METHODS
from snnc.compiler.execute import run
from snnc.compiler.passes.pipeline import PIPELINE, run_pipeline, steps_until


def _best_times(fns: dict, reps: int) -> dict:
    """Fastest of ``reps`` runs of each function, interleaved so that load changes hit all alike."""
    for fn in fns.values():
        fn()  # warm-up
    best = {k: float("inf") for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def resnet18_onnx(size: int, folder: Path) -> str:
    import torch
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000).eval()
    path = folder / f"resnet18_{size}.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, size, size), str(path), dynamo=False, input_names=["x"])
    return str(path)


def calibration_ratios(onnx_path: str, batch_size: int, reps: int) -> dict:
    from snnc.frontends.onnx import load_onnx
    ann = load_onnx(onnx_path)
    neurons, _, _ = run_pipeline(ann, steps_until("calibrate"))
    open_g, caps = open_graph(neurons)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch_size,) + ann.inputs[0].shape).astype(np.float32)
    fns = {"ann": lambda: run(open_g, x)}
    for method, update in METHODS.items():
        fns[method] = _calibration_iteration(open_g, caps, update, x)
    best = _best_times(fns, reps)
    return {"model": Path(onnx_path).stem, "batch": batch_size, "ann_forward_s": best["ann"],
            "ratio": {m: best[m] / best["ann"] for m in METHODS}}


def _calibration_iteration(open_g, caps, update, x):
    """One calibration iteration exactly as ``calibrate_thresholds`` runs it (the same hook function)."""
    theta = {n: np.zeros(len(c)) for n, c in caps.items()}
    hook = threshold_hook(theta, caps, update, 99.9)
    return lambda: run(open_g, batch(x, 0, len(x)), hook=hook)


def compile_time(onnx_path: str) -> dict:
    from snnc.frontends.onnx import load_onnx
    t = time.perf_counter()
    graph = load_onnx(onnx_path)
    steps = {"import_onnx": time.perf_counter() - t}
    x = np.random.default_rng(0).standard_normal((2,) + graph.inputs[0].shape).astype(np.float32)
    options = {"calib": x, "iters": 1, "batch_size": 2}
    for step in PIPELINE:
        t = time.perf_counter()
        graph, _, _ = run_pipeline(graph, [step], **options)
        steps[step.name] = time.perf_counter() - t
    total = sum(v for k, v in steps.items() if k != "calibrate")
    return {"model": Path(onnx_path).stem, "seconds_excluding_calibration": total, "steps": steps}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        models = [resnet18_onnx(64, Path(d))]
        try:
            from snnc.compiler.data import example_model_path
            models.append(str(example_model_path()))
        except Exception:  # noqa: BLE001 - the example model is optional here
            pass
        result = {"calibration": [calibration_ratios(m, args.batch, args.reps) for m in models],
                  "compile": compile_time(resnet18_onnx(224, Path(d)))}
    if args.json:
        print(json.dumps(result, indent=2))
        return result
    for r in result["calibration"]:
        ratios = ", ".join(f"{k} {v:.2f}x" for k, v in r["ratio"].items())
        print(f"{r['model']}: one ANN forward of batch {r['batch']} = {r['ann_forward_s'] * 1e3:.1f} ms; "
              f"calibration iteration / forward: {ratios} (target <= 1.3x)")
    c = result["compile"]
    print(f"{c['model']} compile time excluding calibration: {c['seconds_excluding_calibration']:.2f} s")
    print("  " + ", ".join(f"{k} {v:.3f} s" for k, v in c["steps"].items()))
    return result


if __name__ == "__main__":
    main()
