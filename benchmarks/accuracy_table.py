"""Accuracy of the example MNIST CNN per calibration method x T, with and without delayed readout, per pool mode.

    python -m benchmarks.accuracy_table [--n 1000] [--calib mnist] [--T 8,16,32,64,128] [--json]

For each max-pool mode (pre-neuron, cumulative; ``--pool-modes``) and calibration
method (max, percentile 99.9, ltb, cltb, each run until converged, and auto,
the default: its row names the method it chose) the example model is compiled once (compiler
defaults on ``--calib``, by default the MNIST training split) and simulated
once for the largest T on the first ``n`` MNIST test images, recording the
readout trace I_L(t); both
readouts come from that trace: delayed (the artifact's D = clamp(floor(t0),
0, T-4)) and undelayed (D = 0). Prints one table per pool mode plus the ANN and
clip-ANN accuracy.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

METHODS = [("max", {}), ("percentile", {"percentile": 99.9}), ("ltb", {}), ("cltb", {}), ("auto", {})]
POOL_MODES = ("pre-neuron", "cumulative")


def window_accuracy(trace: np.ndarray, y: np.ndarray, T: int, D: int) -> float:
    """Accuracy of argmax mean_{t=D+1..T} I_L(t) from a (T, N, K) trace."""
    return float(np.mean(trace[D:T].astype(np.float64).mean(0).argmax(1) == y))


def evaluate(method, opts, pool_mode, calib, test, Ts) -> dict:
    import snnc
    from snnc.compiler.execute import predict
    from snnc.compiler.data import example_model_path
    from snnc.runtime.numpy_sim import simulate
    art = snnc.compile(str(example_model_path()), calib, method=method, pool_mode=pool_mode, **opts)
    res = simulate(art, test.x, T=max(Ts), record=("output",))
    trace = res.records["output"]
    chosen = art.meta["calibration"]["method"]
    label = method + (f" {opts['percentile']}" if opts else "") + (f" ({chosen})" if method == "auto" else "")
    return {"method": label, "pool_mode": pool_mode, "iters": art.meta["calibration"]["iters"],
            "clip_ann": float(np.mean(predict(art.snn, test.x).argmax(1) == test.y)),
            "t0": art.meta.get("readout", {}).get("t0"),
            "delayed": {T: window_accuracy(trace, test.y, T, art.readout_delay(T)) for T in Ts},
            "undelayed": {T: window_accuracy(trace, test.y, T, 0) for T in Ts},
            "delays": {T: art.readout_delay(T) for T in Ts}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="MNIST test images (default 1000; 10000 = all)")
    p.add_argument("--calib", default="mnist", help="calibration data spec (default: mnist, the training split)")
    p.add_argument("--T", default="8,16,32,64,128")
    p.add_argument("--pool-modes", default=",".join(POOL_MODES), help="comma-separated (default: both)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from snnc.compiler.data import example_model_path, load_data
    from snnc.compiler.execute import predict
    from snnc.frontends.onnx import load_onnx
    Ts = [int(t) for t in args.T.split(",")]
    calib, test = args.calib, load_data("mnist:test", n=args.n)
    ann = float(np.mean(predict(load_onnx(str(example_model_path())), test.x).argmax(1) == test.y))
    modes = [m for m in args.pool_modes.split(",") if m]
    rows = [evaluate(m, o, pm, calib, test, Ts) for pm in modes for m, o in METHODS]
    if args.json:
        print(json.dumps({"ann": ann, "n": args.n, "rows": rows}, indent=1))
    else:
        print(render(rows, Ts, ann, args.n))
    return 0


def render(rows, Ts, ann, n) -> str:
    from snnc.cli.common import table
    out = [f"example MNIST CNN, {n} test images; ANN {100 * ann:.2f}%"]
    for pm in dict.fromkeys(r["pool_mode"] for r in rows):
        body = []
        for r in (r for r in rows if r["pool_mode"] == pm):
            for kind in ("delayed", "undelayed"):
                body.append([r["method"], r["iters"], kind, f"{100 * r['clip_ann']:.2f}"]
                            + [f"{100 * r[kind][T]:.2f}" for T in Ts])
        out += ["", f"max pool mode: {pm}",
                table(["method", "K", "readout", "clip-ANN"] + [f"T={T}" for T in Ts], body)]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
