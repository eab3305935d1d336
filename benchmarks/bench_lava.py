"""Lava backend speed vs the NumPy simulator, OS processes per run, accuracy of each Lava mode and of netx.

    python -m benchmarks.bench_lava [--n 50] [--T 32] [--json]

1. The example model (examples/mnist_cnn.onnx compiled with ``snnc.compile``, calibrated on MNIST;
   residual block and max pools over currents) on the first N MNIST test images, one run each:
   ``numpy`` (the reference simulator), ``lava`` (floating point) and ``lava-fixed`` (Loihi fixed
   point, 8-bit weights): seconds per sample per step, the ratio to NumPy, the most OS processes
   alive at once (watchdog worker + one per Lava process + Lava's runtime), accuracy and agreement
   with NumPy's predictions. Stock mode refuses this model (no stock process pools currents); the
   refusal is recorded.
2. A chain netx can express (conv -> conv -> dense, ``mnist_chain_onnx`` of tests/runtime/lava_nets.py,
   compiled with one threshold per layer, ``ltb``): the float SNN (NumPy), ``lava-stock`` and
   ``lava-stock-fixed`` (stock lava-nc processes only: reset to zero, readout current) and the netx
   file run by lava-dl (reset to zero, spike-count readout), exported as ``snnc export`` does
   (calibrated on 256 MNIST training images for this T; ``bench_netx`` measures the calibration).
Lava runs on Loihi2SimCfg on the host CPU.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np


def _example(n: int):
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    art = snnc.compile(str(example_model_path()), calib="mnist")
    return art, load_data("mnist", input_shape=art.snn.inputs[0].shape, n=n)


def _chain(n: int):
    import snnc
    from snnc.compiler.data import load_data
    from snnc.compiler.data.mnist import load_split
    path = Path(__file__).resolve().parents[1] / "tests" / "runtime" / "lava_nets.py"
    spec = importlib.util.spec_from_file_location("lava_nets", path)
    nets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nets)
    art = snnc.compile(nets.mnist_chain_onnx(), calib=load_split("train")[0][-200:], method="ltb")
    return art, load_data("mnist:test", n=n)


def _row(name, seconds, steps, t_np, procs, acc, agree, lava_procs=None) -> dict:
    return {"backend": name, "seconds": seconds, "s_per_sample_step": seconds / steps, "ratio": seconds / t_np,
            "os_processes": procs, "lava_processes": lava_procs, "accuracy": acc, "agree_numpy": agree}


def _lava_rows(art, data, T, modes, ref, t_np) -> list:
    from snnc.compiler.errors import BackendError
    from snnc.runtime.backends import get_backend
    rows, steps = [], len(data) * T
    for mode in modes:
        t0 = time.perf_counter()
        try:
            res = get_backend("lava", **mode).run(art, data.x, T, y=data.y)
        except BackendError as e:
            rows.append({"backend": "lava" + "".join(f"-{k}" for k in ("stock", "fixed") if mode.get(k)),
                         "refused": str(e)})
            continue
        dt = time.perf_counter() - t0
        agree = float(np.mean(res.predictions(T) == ref.predictions(T)))
        rows.append(_row(res.activity.source, dt, steps, t_np, res.lava.processes, res.accuracy[T], agree,
                         res.lava.lava_processes))
    return rows


def _part(art, data, T, modes, netx_dir=None) -> list:
    from snnc.runtime.backends import get_backend
    t0 = time.perf_counter()
    ref = get_backend("numpy").run(art, data.x, T, y=data.y)
    t_np = time.perf_counter() - t0
    rows = [_row("numpy", t_np, len(data) * T, t_np, 1, ref.accuracy[T], 1.0)]
    rows += _lava_rows(art, data, T, modes, ref, t_np)
    if netx_dir is not None:  # the file `snnc export` writes: calibrated on 256 training images for this T
        from snnc.compiler.data import load_data
        from snnc.runtime.lava.netx import export_netx, run_netx
        from snnc.runtime.lava.netx_model import predict
        path = Path(netx_dir) / "chain.net"
        export_netx(art.snn, path, input_bits=7, weight_bits=8, calib=load_data("mnist:train", n=256).x, T=T)
        t0 = time.perf_counter()
        spikes = run_netx(path, data.x, T, input_bits=7, spikes=True)
        dt = time.perf_counter() - t0
        pred = predict(spikes)  # most output spikes; ties: first to reach the count; no spike: wrong
        rows.append(_row("netx (lava-dl)", dt, len(data) * T, t_np, None, float(np.mean(pred == data.y)),
                         float(np.mean(pred == ref.predictions(T)))))
        rows[-1]["silent_samples"] = float(np.mean(spikes.sum(axis=(1, 2)) == 0))
    return rows


def main(argv=None) -> dict:
    import tempfile
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--T", type=int, default=32)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    art, data = _example(args.n)
    out = {"n": args.n, "T": args.T,
           "example": _part(art, data, args.T, [{}, {"fixed": True}, {"stock": True}])}
    art, data = _chain(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        out["chain"] = _part(art, data, args.T, [{"stock": True}, {"stock": True, "fixed": True}], netx_dir=tmp)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for part, title in (("example", "example model"), ("chain", "MNIST conv-conv-dense chain (ltb)")):
            print(f"\n{title}, {args.n} MNIST test images, T={args.T} (one run each)")
            print(f"{'backend':<18} {'seconds':>8} {'ms/sample/step':>15} {'x numpy':>8} {'OS procs':>9} "
                  f"{'accuracy':>9} {'same pred':>10}")
            for r in out[part]:
                if "refused" in r:
                    print(f"{r['backend']:<18} refused: {r['refused']}")
                    continue
                procs = "-" if r["os_processes"] is None else r["os_processes"]
                print(f"{r['backend']:<18} {r['seconds']:8.2f} {1e3 * r['s_per_sample_step']:15.3f} "
                      f"{r['ratio']:8.1f} {procs:>9} {100 * r['accuracy']:8.2f}% {100 * r['agree_numpy']:9.1f}%")
    return out


if __name__ == "__main__":
    main()
