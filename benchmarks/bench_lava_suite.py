"""The trained suite in Lava, floating and fixed point, through the command line a user runs.

For each network of examples/suite (vgg, resnet, mobilenet, densenet)::

    snnc compile examples/suite/NET.onnx --calib mnist:valid -o OUT/NET.snnc --json
    snnc run OUT/NET.snnc --backend numpy --data mnist --n N --T T
    snnc run OUT/NET.snnc --backend lava  --data mnist --n N --T T [--fixed-point]

and records the accuracies, the agreement of each Lava run's predictions with
the NumPy simulator's, the seconds and Lava processes of each run, the number of
synapses the lowering composed (``compositions``), and per layer the compile
report's weight error (the artifact's deployment record) next to the one the
fixed-point run reports (its numerics, read from the plan it ran), plus the
largest difference between the two. Each network's result is written to
OUT/NET.json as soon as it is done (the Lava runs take minutes each on a loaded
2-core machine, so run it under nohup)::

    python -m benchmarks.bench_lava_suite --n 100 --T 32 [--nets vgg,resnet] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NETS = ("vgg", "resnet", "mobilenet", "densenet")


def snnc(*args) -> tuple[dict, float]:
    """Run the snnc command installed beside this interpreter; (its JSON output, wall seconds)."""
    t0 = time.perf_counter()
    p = subprocess.run([str(Path(sys.executable).parent / "snnc"), *args], capture_output=True, text=True,
                       env={**os.environ, "SNNC_PROGRESS": "0"})
    if p.returncode:
        raise RuntimeError(f"snnc {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout[p.stdout.index("{"):]), round(time.perf_counter() - t0, 1)


def network(name: str, n: int, T: int, modes: list, lava_n: int, out: Path, artifacts: Path) -> dict:
    """Compile by the CLI (unless ``artifacts`` holds NET.snnc); NumPy simulator and the Lava reference on
    ``n`` images; Lava runs on ``lava_n``."""
    from snnc.compiler.artifact import load
    from snnc.compiler.data import load_data
    art_path, t_comp = artifacts / f"{name}.snnc", None
    if not art_path.is_file():
        _, t_comp = snnc("compile", str(ROOT / "examples" / "suite" / f"{name}.onnx"), "--calib", "mnist:valid",
                         "-o", str(art_path), "--json")
    art, test = load(art_path), load_data("mnist:test", n=n)
    res = {"net": name, "n": n, "T": T, "compile_seconds": t_comp, "runs": {}}
    path = out / f"{name}.json"
    pred = {}
    for mode in modes:
        t0 = time.perf_counter()
        k = lava_n if mode.startswith("lava") else n
        p, info = _run(mode, art, test.x[:k], T)
        pred[mode] = p
        res["runs"][mode] = {"n": k, "accuracy": float(np.mean(p == test.y[:k])), "seconds":
                             round(time.perf_counter() - t0, 1), **info, "predictions": p.tolist()}
        if "numpy" in pred:
            res["runs"][mode]["agrees_with_numpy"] = float(np.mean(p == pred["numpy"][:k]))
        ref = pred.get(mode.replace("lava", "reference"))
        if mode.startswith("lava") and ref is not None:
            res["runs"][mode]["equals_reference"] = bool(np.array_equal(p, ref[:k]))
        print(f"{name} {mode}: {({k: v for k, v in res['runs'][mode].items() if k != 'predictions'})}", flush=True)
        if mode == "lava-fixed":
            res["report_vs_run"] = _errors(art.meta.get("deployment") or {}, info.pop("numerics"))
        path.write_text(json.dumps(res, indent=1, default=str))
    return res


def _run(mode: str, art, x, T: int):
    """(predictions at T, details) of one mode; ``lava*`` is what `snnc run --backend lava` runs."""
    from snnc.compiler.lower import NumberFormat, make_plan
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.reference import Reference
    if mode == "numpy":
        return get_backend("numpy").run(art, x, T).predictions(T), {}
    fixed = mode.endswith("fixed")
    if mode.startswith("reference"):
        ref = Reference(art.snn, plan=make_plan(art.snn, NumberFormat(fixed, 8)))
        trace, _, _ = ref.run(x, T)
        return trace[:, art.readout_delay(T):T].mean(axis=1).argmax(1), {"wrapped": sum(ref.wrapped.values())}
    r = get_backend("lava", fixed=fixed, weight_bits=8, timeout=1e6).run(art, x, T)
    raw = r.details["lava"]
    return r.predictions(T), {"lava_processes": raw.lava_processes, "os_processes": raw.processes,
                              "steps": raw.steps, "lava_seconds": round(raw.seconds, 1),
                              "ms_per_step": round(1e3 * raw.seconds / max(1, raw.steps), 1),
                              "numerics": raw.numerics}


def _errors(rec: dict, numerics: dict) -> dict:
    """Per layer: the weight error the compile recorded (``meta["deployment"]``, what `snnc estimate` prints)
    and the one the fixed-point run reports."""
    ran = numerics.get("layers", {})
    rows = {k: {"report": v.get("weight_error"), "run": ran.get(k, {}).get("weight_error")}
            for k, v in rec.get("layers", {}).items()}
    diff = [abs(r["report"] - r["run"]) for r in rows.values() if r["run"] is not None]
    return {"layers": rows, "max_abs_difference": max(diff, default=None),
            "compositions": rec.get("compositions", [])}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--T", type=int, default=32)
    ap.add_argument("--modes", default="numpy,reference,reference-fixed,lava-fixed,lava",
                    help="numpy, reference[-fixed] (the NumPy model of the Lava arithmetic), lava[-fixed]")
    ap.add_argument("--lava-n", type=int, default=None, help="images for the Lava runs (default --n)")
    ap.add_argument("--out", default="/tmp/snnc_lava_suite")
    ap.add_argument("--artifacts", default=None, help="directory of compiled NET.snnc to reuse (default --out)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.nets.split(","):
        results[name] = network(name, args.n, args.T, args.modes.split(","), args.lava_n or args.n, out,
                                Path(args.artifacts or out))
    table = {k: {m: r["accuracy"] for m, r in v["runs"].items()} for k, v in results.items()}
    print(json.dumps(table, indent=1))
    return results


if __name__ == "__main__":
    main()
