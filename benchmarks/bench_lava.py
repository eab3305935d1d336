"""Lava backend speed vs the NumPy simulator, OS processes per run, accuracy of each Lava mode.

    python -m benchmarks.bench_lava [--n 50] [--T 32] [--modes float,fixed,stock] [--json]

On the example model (examples/mnist_cnn.onnx compiled with ``snnc.compile``,
calibrated on MNIST) and the first N MNIST test images, one run each:

* ``numpy``: the reference simulator (seconds per sample per step);
* ``lava`` (floating point), ``lava-fixed`` (Loihi fixed point, 8-bit weights),
  ``lava-stock`` (Lava's LIFReset: reset to zero): seconds per sample per step,
  the ratio to NumPy, the most OS processes alive at once (watchdog worker +
  one per Lava process + Lava's runtime), accuracy and agreement with NumPy's
  predictions. Lava runs on Loihi2SimCfg on the host CPU; the custom
  processes (IF neurons, pools, delays, readout, counters, input) run there too.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _example(n: int):
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    art = snnc.compile(str(example_model_path()), calib="mnist")
    data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=n)
    return art, data


MODES = {"float": {}, "fixed": {"fixed": True}, "stock": {"stock": True}}


def main(argv=None) -> dict:
    from snnc.runtime.backends import get_backend
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--T", type=int, default=32)
    p.add_argument("--modes", default="float,fixed,stock")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    art, data = _example(args.n)
    steps = args.n * args.T
    t0 = time.perf_counter()
    ref = get_backend("numpy").run(art, data.x, args.T, y=data.y)
    t_np = time.perf_counter() - t0
    rows = [{"backend": "numpy", "seconds": t_np, "s_per_sample_step": t_np / steps, "ratio": 1.0,
             "os_processes": 1, "accuracy": ref.accuracy[args.T], "agree_numpy": 1.0}]
    for mode in args.modes.split(","):
        t0 = time.perf_counter()
        res = get_backend("lava", **MODES[mode]).run(art, data.x, args.T, y=data.y)
        dt = time.perf_counter() - t0
        rows.append({"backend": res.activity.source, "seconds": dt, "s_per_sample_step": dt / steps,
                     "ratio": dt / t_np, "os_processes": res.lava.processes,
                     "lava_processes": res.lava.lava_processes, "accuracy": res.accuracy[args.T],
                     "agree_numpy": float(np.mean(res.predictions(args.T) == ref.predictions(args.T)))})
    out = {"model": "examples/mnist_cnn.onnx", "n": args.n, "T": args.T, "rows": rows}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"example model, {args.n} MNIST test images, T={args.T} (one run each)")
        print(f"{'backend':<12} {'seconds':>8} {'ms/sample/step':>15} {'x numpy':>8} {'OS procs':>9} "
              f"{'accuracy':>9} {'same pred':>10}")
        for r in rows:
            print(f"{r['backend']:<12} {r['seconds']:8.2f} {1e3 * r['s_per_sample_step']:15.3f} {r['ratio']:8.1f} "
                  f"{r['os_processes']:9d} {100 * r['accuracy']:8.2f}% {100 * r['agree_numpy']:9.1f}%")
    return out


if __name__ == "__main__":
    main()
