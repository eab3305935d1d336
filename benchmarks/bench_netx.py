"""Accuracy of the netx export before and after its readout calibration, next to the float SNN and stock LIF.

    python -m benchmarks.bench_netx [--n 500] [--T 16,32,64] [--calib-n 256] [--no-lava] [--json]

The MNIST conv -> conv -> dense chain of tests/runtime/lava_nets.py (``mnist_chain_onnx``, compiled
with ``ltb`` on 200 training images, as bench_lava), on the first N MNIST test images (figures for
the first 50 and for all N), at each T:

* float SNN: the NumPy simulator (reset by subtraction, mean readout current);
* stock LIF: the NumPy model of the stock-process Lava network (``runtime/lava/reference.py``,
  stock=True: reset to zero, v(0) = 0, graded input, current readout; equal to
  ``snnc run --backend lava --stock-lif`` spike for spike, tested);
* netx before: ``export_netx`` without calibration data (readout threshold 1, no shift);
* netx readout only / after: calibrated on the first ``--calib-n`` MNIST *training* images for
  that T (``snnc export --calib mnist --calib-n 256 --T t``), without / with the hidden
  threshold refit.

The "before" and "after" files are run by lava-dl's netx (``run_netx``, Loihi2SimCfg fixed_pt;
``--no-lava``: by the NumPy model of the file instead, which equals it spike for spike); the
NumPy model's predictions are compared with lava-dl's (``same``). Predictions from counts: the
most spikes, ties to the class that reached the top count first (``netx_model.predict``);
``argmax`` gives plain argmax (lowest index on ties) for comparison.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def _acc(pred, y, n=None):
    return float(np.mean(pred[:n] == y[:n]))


def _file_rows(art, data, xc, t, tmp, lava: bool) -> dict:
    from snnc.compiler.execute import predict as ann_logits
    from snnc.runtime.lava.netx import export_netx, netx_blocks, quantise_input, run_netx
    from snnc.runtime.lava.netx_calibrate import calibrate
    from snnc.runtime.lava.netx_model import predict, readout_currents, readout_spikes, readout_stats
    xq, target = quantise_input(data.x, 7), ann_logits(art.snn, xc)
    _, raw, _ = netx_blocks(art.snn)
    variants = {"before": (raw, None), "readout only": calibrate(raw, quantise_input(xc, 7), target, t, False),
                "after": calibrate(raw, quantise_input(xc, 7), target, t)}
    out = {}
    for name, (blocks, record) in variants.items():
        spikes = readout_spikes(readout_currents(blocks, xq, t), blocks[-1].bias_full(1), blocks[-1].vth)
        row = {"numpy_model": spikes, "record": record}
        if lava and name != "readout only":
            path = Path(tmp) / f"{name}-{t}.net"
            export_netx(art.snn, path, calib=None if record is None else xc, T=t)
            row["lava"] = run_netx(path, data.x, t, spikes=True)
        s = row.get("lava", spikes)
        out[name] = {"pred": predict(s), "argmax": s.sum(axis=1).argmax(axis=1), "stats": readout_stats(s),
                     "same": None if "lava" not in row else float(np.mean((row["lava"] == spikes).all(axis=(1, 2)))),
                     "calibration": record}
    return out


def main(argv=None) -> dict:
    from benchmarks.bench_lava import _chain
    from snnc.compiler.data import load_data
    from snnc.runtime.lava.reference import Reference
    from snnc.runtime.numpy_sim import simulate
    from snnc.runtime.numpy_sim.simulate import readout_delays
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--T", default="16,32,64")
    p.add_argument("--calib-n", type=int, default=256)
    p.add_argument("--no-lava", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    Ts = [int(t) for t in args.T.split(",")]
    art, data = _chain(args.n)
    xc = load_data("mnist:train", n=args.calib_n).x
    snn = simulate(art, data.x, T=Ts, y=data.y, show_progress=False)
    trace, _, _ = Reference(art.snn, stock=True).run(data.x, max(Ts))
    delays = readout_delays(art, None, Ts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in Ts:
            stock = trace[:, delays[t]:t].mean(axis=1).argmax(axis=1)
            files = _file_rows(art, data, xc, t, tmp, not args.no_lava)
            for n in sorted({min(50, args.n), args.n}):
                row = {"T": t, "n": n, "float_snn": _acc(snn.predictions(t), data.y, n),
                       "stock_lif": _acc(stock, data.y, n)}
                for name, f in files.items():
                    row[name] = _acc(f["pred"], data.y, n)
                    row[name + " argmax"] = _acc(f["argmax"], data.y, n)
                    if n == args.n:
                        row[name + " stats"], row[name + " same"] = f["stats"], f["same"]
                rows.append(row)
            cal = files["after"]["calibration"]
            rows[-1]["calibration"] = {"hidden": {k: v["factor"] for k, v in cal["hidden"]["layers"].items()},
                                       **{k: cal["readout"][k] for k in ("lo", "hi", "shift", "shift_ir", "vThMant",
                                                                         "theta_out_ir")}}
    if args.json:
        print(json.dumps(rows, indent=1))
        return {"rows": rows}
    print(f"MNIST conv-conv-dense chain (ltb), calibrated on {args.calib_n} training images; netx files run by "
          f"{'the NumPy file model' if args.no_lava else 'lava-dl netx'}")
    print(f"{'T':>3} {'n':>4} {'float SNN':>9} {'stock LIF':>9} {'before':>7} {'(argmax)':>8} {'readout':>8} "
          f"{'after':>7} {'(argmax)':>8}")
    for r in rows:
        print(f"{r['T']:>3} {r['n']:>4} {100 * r['float_snn']:8.1f}% {100 * r['stock_lif']:8.1f}% "
              f"{100 * r['before']:6.1f}% {100 * r['before argmax']:7.1f}% {100 * r['readout only']:7.1f}% "
              f"{100 * r['after']:6.1f}% "
              f"{100 * r['after argmax']:7.1f}%")
        if "calibration" in r:
            print(f"    before {r['before stats']}, after {r['after stats']}; lava == numpy model: "
                  f"{r['before same']}, {r['after same']}; {r['calibration']}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
