"""Calibration on trained networks: the default (auto) against the ANN and the spiking network at every T.

    python -m benchmarks.calibration_suite MODEL.onnx [MODEL.onnx ...] [--calib mnist:valid] [--n 500]
        [--T 4,8,16,32,64,128] [--method auto] [--clip-methods cltb,ltb,percentile,max] [--json]

Per model: ``snnc.compile`` with ``--method`` (default auto) on ``--calib``
(default the MNIST validation split, so the test images are never tuned on),
then on the first ``n`` MNIST test images the ANN, the clip-ANN (from the
unfolded source graph, ``snnc.compiler.clip_ann``) and the NumPy IF simulator
at each T. Reports the method auto chose, every candidate's agreement on the
held-back slice, the batches run, the cost in forward passes per calibration
sample and the compile wall time. ``--clip-methods``: additionally, the
clip-ANN accuracy on the test images of each listed method calibrated alone
(until converged, on the same calibration data minus the same held-back slice).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def measure(path: str, calib: str, test, Ts, method: str) -> dict:
    import snnc
    from snnc.compiler.clip_ann import clip_ann_outputs
    from snnc.compiler.execute import predict
    from snnc.runtime.numpy_sim import simulate
    t = time.perf_counter()
    art = snnc.compile(path, calib, method=method)
    compile_s = time.perf_counter() - t
    cal = art.meta["calibration"]
    ann = predict(art.ann, test.x).argmax(1)
    clip = clip_ann_outputs(art, test.x).argmax(1)
    res = simulate(art, test.x, T=Ts, y=test.y)
    return {"model": Path(path).stem, "method": cal["method"], "requested": method, "iters": cal["iters"],
            "converged": cal["convergence"]["converged"], "forwards_per_sample": cal["forwards_per_sample"],
            "compile_s": compile_s, "candidates": cal["candidates"], "check": cal["check"],
            "warnings": cal["warnings"], "ann": float(np.mean(ann == test.y)),
            "clip_ann": float(np.mean(clip == test.y)), "clip_agreement": float(np.mean(clip == ann)),
            "snn": {T: float(res.accuracy[T]) for T in Ts}}


def clip_per_method(path: str, calib: str, test, methods) -> dict:
    """{method: (clip-ANN accuracy, agreement with the ANN, batches, seconds)} on the test images."""
    from snnc.compiler.calibrate.check import holdout
    from snnc.compiler.calibrate.data import calibration_dataset
    from snnc.compiler.calibrate.loop import run_calibration, with_thresholds
    from snnc.compiler.execute import predict
    from snnc.compiler.passes.pipeline import run_pipeline, steps_until
    from snnc.frontends import load_model
    g = load_model(path)
    pre, _, _ = run_pipeline(g, steps_until("calibrate"))
    x, _, _ = calibration_dataset(calib, g.inputs[0].shape)
    x = x[holdout(len(x))[0]]
    ann = predict(g, test.x).argmax(1)
    out = {}
    for m in methods:
        t = time.perf_counter()
        r = run_calibration(pre, x, m)
        dt = time.perf_counter() - t
        clip = predict(with_thresholds(pre, r.theta), test.x).argmax(1)
        out[m] = (float(np.mean(clip == test.y)), float(np.mean(clip == ann)), r.iters, dt)
    return out


def render(rows, Ts, n) -> str:
    from snnc.cli.common import table
    body = [[r["model"], r["method"], r["iters"], f"{r['forwards_per_sample']:.2f}", f"{r['compile_s']:.0f}",
             " ".join(f"{m} {100 * c['agreement']:.1f}" for m, c in r["candidates"].items()),
             f"{100 * r['ann']:.1f}", f"{100 * r['clip_ann']:.1f}"] + [f"{100 * r['snn'][T]:.1f}" for T in Ts]
            for r in rows]
    return f"first {n} MNIST test images\n" + table(
        ["model", "method", "K", "fwd/sample", "compile s", "agreement on slice (%)", "ANN", "clip-ANN"]
        + [f"T={T}" for T in Ts], body)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--calib", default="mnist:valid")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--T", default="4,8,16,32,64,128")
    p.add_argument("--method", default="auto")
    p.add_argument("--clip-methods", default="", help="comma-separated methods for per-method clip-ANN accuracy")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from snnc.compiler.data import load_data
    Ts = [int(t) for t in args.T.split(",")]
    test = load_data("mnist:test", n=args.n)
    rows = []
    methods = [m for m in args.clip_methods.split(",") if m]
    for m in args.models:
        if methods:
            print(json.dumps({"model": Path(m).stem, "clip_per_method": clip_per_method(m, args.calib, test, methods)}),
                  flush=True)
        if args.method != "none":
            rows.append(measure(m, args.calib, test, Ts, args.method))
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps(rows, indent=1) if args.json else render(rows, Ts, args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
