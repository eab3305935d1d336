"""Simulator speed and memory: fast simulator vs the dense limit vs the naive step-by-step loop.

    python -m benchmarks.bench_simulator [--n 128] [--resnet-n 16] [--T 64] [--models example,resnet18] [--json]

For N images at T steps, side by side in one run:

* ``fast``: ``snnc.simulate`` (time-chunked, layer by layer, constant layers once);
* ``dense``: T x one ANN-executor pass of the SNN graph (the clip-ANN) on the same
  N images: what any simulator doing dense per-step work must at least spend;
* ``naive``: ``reference.step_by_step`` (the whole graph once per step);
* times are CPU seconds of the process (``time.process_time``, incl. BLAS
  threads); wall seconds are printed too;
* peak traced memory (tracemalloc) of the fast simulator.

Targets: fast <= 1.5 x dense and >= 5 x faster than naive at T = 64.
Models: the example MNIST CNN compiled with default options on MNIST test
images (the benchmark fails if the example, MNIST or the compiler is missing)
and a torchvision ResNet-18 with RANDOM weights (random initialisation, 10
classes) at 64x64, calibrated on and fed with RANDOM inputs (uniform [0, 1)):
its figures measure speed and memory only, not accuracy.
"""
from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from snnc.compiler.execute import predict
from snnc.runtime.numpy_sim import simulate
from snnc.runtime.numpy_sim.reference import step_by_step


def example_model(n: int):
    """(name, artifact, inputs): the example CNN compiled with default options on MNIST test images.

    Everything it needs is part of the project (examples/mnist_cnn.onnx, the MNIST loader): if any of it
    is missing the benchmark fails, rather than timing some other network under the same name."""
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    data = load_data("mnist:test", n=n)
    art = snnc.compile(str(example_model_path()), "mnist")
    return "example mnist_cnn", art, data.x


def resnet18_64(n: int):
    """resnet18 with random weights at 64x64, compiled on 64 random images, simulated on n random images."""
    import torch
    import torchvision
    import snnc
    torch.manual_seed(0)
    module = torchvision.models.resnet18(num_classes=10)
    graph = snnc.from_torch(module, torch.zeros(1, 3, 64, 64))
    rng = np.random.default_rng(0)
    art = snnc.compile(graph, rng.random((64, 3, 64, 64), dtype=np.float32))
    return "resnet18 64x64", art, rng.random((n, 3, 64, 64), dtype=np.float32)


def _time(fn):
    """(CPU seconds of this process incl. BLAS threads, wall seconds): CPU time is what the ratios use,
    because the wall clock of a shared machine mostly measures the other processes."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def measure(name, model, x, T: int, naive: bool = True) -> dict:
    graph = getattr(model, "snn", model)
    n = len(x)
    t_fast, w_fast = _time(lambda: simulate(model, x, T=T, batch_size=n, show_progress=False))
    t_ann, w_ann = _time(lambda: predict(graph, x, batch_size=n))
    t_naive, w_naive = _time(lambda: step_by_step(graph, x, T)) if naive else (float("nan"),) * 2
    tracemalloc.start()
    simulate(model, x, T=T, batch_size=n, show_progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense = T * t_ann
    return {"model": name, "N": n, "T": T, "fast_s": t_fast, "dense_s": dense, "naive_s": t_naive,
            "fast_over_dense": t_fast / dense, "naive_over_fast": t_naive / t_fast,
            "peak_MiB": peak / 2 ** 20, "ann_pass_s": t_ann,
            "wall_s": {"fast": w_fast, "dense": T * w_ann, "naive": w_naive}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=128, help="images for the example model")
    p.add_argument("--resnet-n", type=int, default=16, help="images for resnet18 at 64x64")
    p.add_argument("--T", type=int, default=64)
    p.add_argument("--models", default="example,resnet18")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    builders = {"example": lambda: example_model(args.n), "resnet18": lambda: resnet18_64(args.resnet_n)}
    rows = []
    for key in args.models.split(","):
        name, model, x = builders[key]()
        rows.append(measure(name, model, x, args.T))
        print(_line(rows[-1]), flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    ok = all(r["fast_over_dense"] <= 1.5 and r["naive_over_fast"] >= 5 for r in rows)
    print("targets (fast <= 1.5 x dense, >= 5 x faster than naive):", "met" if ok else "NOT met")
    return 0


def _line(r) -> str:
    return (f"{r['model']}: N={r['N']} T={r['T']} (CPU s): fast {r['fast_s']:.2f} s | dense limit {r['dense_s']:.2f} s "
            f"(T x {r['ann_pass_s']:.3f} s) -> {r['fast_over_dense']:.2f}x | naive step-by-step "
            f"{r['naive_s']:.2f} s -> {r['naive_over_fast']:.1f}x slower | peak {r['peak_MiB']:.0f} MiB | "
            f"wall: fast {r['wall_s']['fast']:.2f} s, naive {r['wall_s']['naive']:.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
