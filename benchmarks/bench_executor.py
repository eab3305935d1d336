"""NumPy ANN executor vs onnxruntime on torchvision ResNet-18, side by side.

    python -m benchmarks.bench_executor [--size 224] [--batch 8] [--reps 3] [--threads N] [--json]

ResNet-18 (random weights, eval mode) is exported with torch's legacy exporter
(BN folded into the convolutions), imported with ``snnc.load_onnx`` and run on
the same random batch by ``snnc.compiler.execute.run`` and by onnxruntime (CPU,
intra-op threads = the BLAS threads NumPy uses, inter-op 1). One warm-up run
each, then ``reps`` alternating timed runs; the median is reported.
Target: the executor within 3x of onnxruntime.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np


def export_resnet18(path: str, size: int, batch: int) -> np.ndarray:
    import torch
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(batch, 3, size, size)
    torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17, input_names=["x"])
    return x.numpy()


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info
        n = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if n:
            return int(n[0])
    except ImportError:
        pass
    return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


def measure(size: int, batch: int, reps: int, threads: int) -> dict:
    import onnxruntime as ort
    from snnc.compiler.execute import run
    from snnc.frontends.onnx import load_onnx
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "resnet18.onnx")
        x = export_resnet18(path, size, batch)
        graph = load_onnx(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = graph.outputs[0]
    ref = sess.run(None, {"x": x})[0]
    got = run(graph, x)[out]
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    t_np, t_ort = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        run(graph, x)
        t_np.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        t_ort.append(time.perf_counter() - t0)
    med_np, med_ort = statistics.median(t_np), statistics.median(t_ort)
    return {"model": "resnet18", "size": size, "batch": batch, "threads": threads, "reps": reps,
            "numpy_s": med_np, "ort_s": med_ort, "ratio": med_np / med_ort, "max_rel_err": err,
            "numpy_all_s": t_np, "ort_all_s": t_ort}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: NumPy's BLAS threads)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    r = measure(args.size, args.batch, args.reps, args.threads or blas_threads())
    print(f"resnet18 {args.size}x{args.size} batch {args.batch}, {r['threads']} thread(s): "
          f"NumPy executor {r['numpy_s']:.3f} s | onnxruntime {r['ort_s']:.3f} s | ratio {r['ratio']:.2f}x "
          f"(max rel. error {r['max_rel_err']:.1e})", flush=True)
    print("target (executor within 3x of onnxruntime):", "met" if r["ratio"] <= 3 else "NOT met")
    if args.json:
        print(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
