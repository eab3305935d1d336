"""Calibration batch size vs iterations, thresholds and clipping on the trained suite (why B = 16).

    python -m benchmarks.calibration_batch [--models densenet,mobilenet,vgg] [--runs 100:0,100:1,16:0,10:0]

Each run ``B:SEED`` calibrates cltb until converged (``run_calibration``, the
compile's stopping rule) on the MNIST validation images minus the held-back
slice, with batch size B and the batch-order seed SEED, and prints the
iterations K, forwards per calibration sample, the clip-ANN's agreement with
the ANN on the held-back slice, and the thresholds' relative distance to the
first run's (per layer ||theta - theta_ref|| / ||theta_ref||: max and median
over layers). The spread between seeds at one B is the noise floor a change
of B is measured against.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks.suite import data, onnx_path


def run(name: str, runs, x, x_chk, y_chk) -> None:
    import snnc
    from snnc.compiler.calibrate import loop
    from snnc.compiler.calibrate.check import ann_predictions, measure
    from snnc.compiler.passes.pipeline import run_pipeline, steps_until
    graph, _, _ = run_pipeline(snnc.load_onnx(str(onnx_path(name))), steps_until("calibrate"))
    ann_pred, ref, seed0 = ann_predictions(graph, x_chk), None, loop.SEED
    for b, seed in runs:
        loop.SEED = seed
        loop._epoch.cache_clear()
        t0 = time.process_time()
        r = loop.run_calibration(graph, x, "cltb", batch_size=b)
        cpu = time.process_time() - t0
        m = measure(graph, r.theta, x_chk, ann_pred, y_chk)
        ref = r.theta if ref is None else ref
        rel = [float(np.linalg.norm(r.theta[n] - ref[n]) / max(np.linalg.norm(ref[n]), 1e-12)) for n in ref]
        print(f"{name} B={b} seed={seed} K={r.iters} fwd/sample={r.forwards_per_sample:.2f} cpu={cpu:.1f}s "
              f"agree={100 * m['agreement']:.1f}% clip-acc={100 * m['clip_accuracy']:.1f}% "
              f"theta vs first run: max {100 * max(rel):.1f}% median {100 * np.median(rel):.1f}%", flush=True)
    loop.SEED = seed0
    loop._epoch.cache_clear()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="densenet,mobilenet,vgg")
    ap.add_argument("--runs", default="100:0,100:1,100:2,16:0,16:1,10:0,10:1", help="B:SEED,...")
    args = ap.parse_args(argv)
    from snnc.compiler.calibrate.check import holdout
    x_all, y_all = data("valid", 10000)
    fit, held = holdout(len(x_all))
    runs = [tuple(int(v) for v in r.split(":")) for r in args.runs.split(",")]
    for name in args.models.split(","):
        run(name, runs, x_all[fit], x_all[held], y_all[held])
    return 0


if __name__ == "__main__":
    sys.exit(main())
