"""Torch backend vs SpikingJelly vs the NumPy reference: simulation speed per image-step, one run.

    python -m benchmarks.bench_torch [--n 128] [--batch 64] [--T 32] [--threads 1] [--reps 3]
                                     [--sj-python .venv-sj/bin/python] [--json]

The example MNIST CNN compiled with default options, on the first N MNIST test
images, T steps, batches of B, the same number of CPU threads for all three:

* ``torch``: ``snnc.runtime.torch_sim.simulate`` (float32; the whole run: readout
  window, spikes and SOPs per layer and step; with --threads k > 1 its batches
  run on k worker threads of one torch thread each);
* ``spikingjelly``: the same folded network built from SpikingJelly's multi-step
  ``IFNode`` (reset by subtraction, v(0) = v_init) and torch layers (k OpenMP
  threads), weights
  copied from the artifact (``benchmarks/sj_model.py``, run in SpikingJelly's
  Python >= 3.11 venv ``.venv-sj``, made by the Makefile's ``.venv-sj/.installed``
  target; ``--sj-python`` or ``SNNC_SJ_PYTHON`` point elsewhere); its max pools pool
  each step's current (it has no cumulative pool);
* ``numpy``: ``snnc.runtime.numpy_sim.simulate`` (BLAS limited to the same threads).

Each round times the three one after the other (SpikingJelly in a subprocess:
one warm-up run, then one timed run); the figures are the medians over ``--reps``
rounds of wall and of CPU seconds / (N x T) (CPU time is the steadier figure on a
shared machine). Target: torch >= 2x SpikingJelly per image-step. Check that the
SpikingJelly network is the same network: with every max pool in pre-neuron
mode its predictions must equal the torch backend's (``same_network_agreement``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def export(art, x, path) -> None:
    """The folded spiking graph and the images as one .npz for ``sj_model.py`` (no pickles)."""
    nodes, arrays = [], {}
    for i, n in enumerate(art.snn.nodes):
        attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in n.op.attrs().items()}
        nodes.append({"name": n.name, "key": f"n{i}", "type": n.type, "inputs": list(n.inputs), "attrs": attrs})
        arrays.update({f"{n.name}/{k}": np.asarray(a) for k, a in n.op.arrays().items()})
    spec = {"nodes": nodes, "outputs": list(art.snn.outputs)}
    np.savez(path, spec=json.dumps(spec), x=x, **arrays)


def sj_python(given=None) -> Path:
    p = Path(given or os.environ.get("SNNC_SJ_PYTHON") or ROOT / ".venv-sj" / "bin" / "python")
    if not p.exists():
        raise RuntimeError(f"SpikingJelly's Python not found at {p}: create the venv with "
                         f"`make .venv-sj/.installed` (Python 3.11) or pass --sj-python")
    return p


def run_sj(py, net, T, delay, batch, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([str(py), str(ROOT / "benchmarks" / "sj_model.py"), str(net), "--T", str(T),
                          "--delay", str(delay), "--batch", str(batch), "--threads", str(threads), "--reps", "1"],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f"SpikingJelly run failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    r = fn()
    return time.perf_counter() - t0, time.process_time() - c0, r


def same_network(art, data, T, batch, threads, py, tmp) -> float:
    """Agreement of SpikingJelly's and the torch backend's predictions with every max pool pre-neuron."""
    from dataclasses import replace
    from snnc.compiler.artifact import Artifact
    from snnc.runtime.torch_sim import simulate
    spec = [(n.name, replace(n.op, mode="pre-neuron") if n.type == "MaxPool2d" else n.op, n.inputs)
            for n in art.snn.nodes]
    pre = Artifact(art.snn.rebuild(spec), art.ann, art.meta)
    r = simulate(pre, data.x, T=T, batch_size=batch, threads=threads, show_progress=False)
    export(pre, data.x, Path(tmp) / "pre.npz")
    out = run_sj(py, Path(tmp) / "pre.npz", T, r.delays[T], batch, threads)
    return float(np.mean(np.array(out["pred"]) == r.predictions(T)))


def bench(n=128, batch=64, T=32, threads=1, reps=3, sj=None) -> dict:
    import torch
    from threadpoolctl import threadpool_limits
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate as torch_sim
    py = sj_python(sj)
    data = load_data("mnist:test", n=n)
    art = snnc.compile(str(example_model_path()), "mnist")
    run_t = lambda: torch_sim(art, data.x, T=T, y=data.y, batch_size=batch, threads=threads, show_progress=False)
    run_n = lambda: np_sim(art, data.x, T=T, y=data.y, batch_size=batch, show_progress=False)
    times = {"torch": [], "spikingjelly": [], "numpy": []}
    cpu = {k: [] for k in times}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(threads):
        net = Path(tmp) / "net.npz"
        export(art, data.x, net)
        res_t = run_t()                                   # warm-up (and the reference predictions)
        delay = res_t.delays[T]
        agree_pre = same_network(art, data, T, batch, threads, py, tmp)
        for _ in range(reps):
            dt, dc, _ = _timed(run_t)
            times["torch"].append(dt)
            cpu["torch"].append(dc)
            sj_out = run_sj(py, net, T, delay, batch, threads)
            times["spikingjelly"].append(sj_out["seconds"][0])
            cpu["spikingjelly"].append(sj_out["cpu_seconds"][0])
            dt, dc, res_n = _timed(run_n)
            times["numpy"].append(dt)
            cpu["numpy"].append(dc)
    per = {k: float(np.median(v)) / (n * T) for k, v in times.items()}
    per_cpu = {k: float(np.median(v)) / (n * T) for k, v in cpu.items()}
    pred_t = res_t.predictions(T)
    return {"model": "example mnist_cnn", "n": n, "batch": batch, "T": T, "threads": threads, "reps": reps,
            "torch_threads": torch.get_num_threads(), "seconds": times, "cpu_seconds": cpu,
            "us_per_image_step": {k: 1e6 * v for k, v in per.items()},
            "cpu_us_per_image_step": {k: 1e6 * v for k, v in per_cpu.items()},
            "speedup_vs_spikingjelly": per["spikingjelly"] / per["torch"],
            "speedup_vs_numpy": per["numpy"] / per["torch"],
            "cpu_speedup_vs_spikingjelly": per_cpu["spikingjelly"] / per_cpu["torch"],
            "cpu_speedup_vs_numpy": per_cpu["numpy"] / per_cpu["torch"],
            "same_network_agreement": agree_pre,
            "accuracy": {"torch": res_t.accuracy[T], "numpy": res_n.accuracy[T],
                         "spikingjelly": float(np.mean(np.array(sj_out["pred"]) == data.y))},
            "agreement_spikingjelly_torch": float(np.mean(np.array(sj_out["pred"]) == pred_t)),
            "agreement_numpy_torch": float(np.mean(res_n.predictions(T) == pred_t)),
            "versions": {"torch": torch.__version__, "sj_torch": sj_out["torch"],
                         "spikingjelly": sj_out["spikingjelly"]}}


def report(r: dict) -> str:
    us, cu = r["us_per_image_step"], r["cpu_us_per_image_step"]
    rows = [f"{r['model']}: {r['n']} images, T={r['T']}, batch {r['batch']}, {r['threads']} thread(s), "
            f"median of {r['reps']} interleaved rounds",
            f"{'simulator':<14}{'wall us / image-step':>22}{'CPU us / image-step':>21}{'accuracy':>10}",
            *(f"{k:<14}{us[k]:>22.1f}{cu[k]:>21.1f}{100 * r['accuracy'][k]:>9.1f}%"
              for k in ("torch", "spikingjelly", "numpy")),
            f"torch vs SpikingJelly: {r['speedup_vs_spikingjelly']:.2f}x wall, "
            f"{r['cpu_speedup_vs_spikingjelly']:.2f}x CPU (target >= 2x); "
            f"torch vs NumPy: {r['speedup_vs_numpy']:.2f}x wall, {r['cpu_speedup_vs_numpy']:.2f}x CPU",
            f"same network (all pools pre-neuron): SpikingJelly/torch predictions agree on "
            f"{100 * r['same_network_agreement']:.1f}%",
            f"same predictions: SpikingJelly/torch {100 * r['agreement_spikingjelly_torch']:.1f}%, "
            f"NumPy/torch {100 * r['agreement_numpy_torch']:.1f}%",
            f"versions: {r['versions']}"]
    return "\n".join(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--T", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--sj-python", default=None)
    p.add_argument("--json", action="store_true")
    a = p.parse_args([] if argv is None and __name__ != "__main__" else argv)
    r = bench(a.n, a.batch, a.T, a.threads, a.reps, a.sj_python)
    print(json.dumps(r, indent=1) if a.json else report(r))


if __name__ == "__main__":
    main(sys.argv[1:])
