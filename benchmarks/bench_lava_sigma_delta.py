"""Sigma-delta networks on Lava: stock SigmaDelta runs and the netx 'SDNN' round trip.

    python -m benchmarks.bench_lava_sigma_delta [--n 100] [--T 3] [--netx-n 100] [--netx-T 4]

1. The example model (examples/mnist_cnn.onnx, --neuron sigma-delta --act-bits 8, default
   calibration) on Lava in floating and fixed point (``snnc run --backend lava [--fixed-point]``)
   against ``sd_reference`` (the NumPy model of the same stream: bit for bit in fixed point) and
   ``snnc simulate`` (the 8-bit quantised ANN): prediction agreement, accuracy, graded spikes.
2. The MNIST chain of tests/runtime/lava_nets.py (``mnist_chain_onnx``, ltb, --neuron sigma-delta)
   exported with ``snnc export --format netx`` and run by lava-dl netx: bit for bit against
   ``netx_sd.NetxSD`` and prediction agreement with ``snnc simulate`` at each local step.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def example_rows(n: int, T: int) -> list[dict]:
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    from snnc.runtime.lava.runner import run_lava
    from snnc.runtime.lava.sd_reference import SDReference
    art = snnc.compile(str(example_model_path()), "mnist", neuron="sigma-delta", act_bits=8)
    data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=n)
    sim = snnc.simulate(art, data.x, T, y=data.y)
    ps = sim.logits[T].argmax(-1)
    rows = [{"run": "snnc simulate (8-bit quantised ANN)", "accuracy": float((ps == data.y).mean()),
             "graded_spikes": float(sum(sum(l.spikes_per_step) for l in sim.activity.layers))}]
    for fixed in (False, True):
        t0 = time.time()
        got = run_lava(art.snn, data.x, T, fixed=fixed, timeout=3600)
        secs = time.time() - t0
        ref, spikes, _ = SDReference(art.snn, fixed=fixed).run(data.x, T)
        pl = got.trace[:, -1].argmax(-1)
        rows.append({"run": f"Lava {'fixed' if fixed else 'float'}", "seconds": round(secs, 1),
                     "bit_exact": bool(np.array_equal(got.trace, ref)),
                     "max_abs_diff": float(np.abs(got.trace - ref).max()),
                     "spikes_equal": all(np.array_equal(got.spikes[k], v) for k, v in spikes.items()),
                     "agree_reference": float((pl == ref[:, -1].argmax(-1)).mean()),
                     "agree_simulate": float((pl == ps).mean()), "accuracy": float((pl == data.y).mean()),
                     "graded_spikes": float(sum(v.sum() for v in got.spikes.values()) / n)})
    return rows


def netx_row(n: int, T: int) -> dict:
    import onnx
    import snnc
    from snnc.compiler.data import load_data
    from snnc.runtime.lava.netx_sd import NetxSD, export_sd, run_netx_sd
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))
    from lava_nets import mnist_chain_onnx
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(mnist_chain_onnx(), f"{tmp}/chain.onnx")
        art = snnc.compile(f"{tmp}/chain.onnx", "mnist", neuron="sigma-delta", act_bits=8, method="ltb")
        data = load_data("mnist", input_shape=art.snn.inputs[0].shape, n=n)
        info = export_sd(art.snn, f"{tmp}/chain_sd.net")
        model = NetxSD(art.snn)
        t0 = time.time()
        sig = run_netx_sd(f"{tmp}/chain_sd.net", data.x, T, info["input_bits"])
        secs = time.time() - t0
    last = model.blocks[-1]
    lava = (sig + last.bias) / 2.0 ** last.unit
    ref = model.run(data.x, T)
    ps = snnc.simulate(art, data.x, T).logits[T].argmax(-1)
    return {"n": n, "T": T, "bit_exact": bool(np.array_equal(lava, ref)), "seconds_netx": round(secs, 1),
            "agree_file_model": float((lava[:, -1].argmax(-1) == ref[:, -1].argmax(-1)).mean()),
            "agree_simulate": [float((lava[:, t].argmax(-1) == ps).mean()) for t in range(T)],
            "accuracy_netx": [float((lava[:, t].argmax(-1) == data.y).mean()) for t in range(T)],
            "accuracy_simulate": float((ps == data.y).mean())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--T", type=int, default=3)
    p.add_argument("--netx-n", type=int, default=100)
    p.add_argument("--netx-T", type=int, default=4)
    a = p.parse_args(argv)
    out = {"example": example_rows(a.n, a.T), "netx": netx_row(a.netx_n, a.netx_T)}
    for r in out["example"]:
        print(r)
    print(out["netx"])
    return out


if __name__ == "__main__":
    main()
