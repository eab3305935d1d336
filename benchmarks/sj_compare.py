"""snnc's default conversion side by side with SpikingJelly's ann2snn on the trained suite networks.

    python -m benchmarks.sj_compare [--models vgg,resnet,...] [--n 1000] [--n-calib 10000]
                                    [--T 4,8,16,32,64,128] [--sj-python .venv-sj/bin/python] [--json OUT]

(``make bench-sj`` creates ``.venv-sj`` and runs this.) One run, the same data
for both sides: calibration on the first ``--n-calib`` MNIST validation images,
accuracy on the first ``--n`` MNIST test images (never tuned on).

* ANN: the committed ONNX file (``examples/suite/NAME.onnx``) run by onnxruntime.
* snnc: ``snnc compile NAME.onnx --calib cal.npy`` run in-process through the
  CLI's own argument parser, so the conversion is whatever the CLI's defaults
  are at the time of the run (no option is set here); its times are the
  calibration step (the pipeline's ``calibrate``: threshold fitting, the
  held-back clipping check, ``--method auto``'s candidates, statistics) and the
  whole command (load, calibrate, fold, report, save); the JSON also has both
  sides' CPU seconds (``calib_cpu_seconds``, ``cpu_seconds``: the process's
  CPU time over the same calls, less sensitive than wall time to other load). Its convolutions run in
  torch when installed, with ``--threads`` threads like SpikingJelly's side
  (``OMP_NUM_THREADS``); torch is imported before the timed calls on both
  sides (its import, ~2 CPU-seconds, is not part of either conversion time). clip-ANN: the unfolded source
  graph with the calibrated clips (``snnc.compiler.clip_ann``, the independent
  reference ``snnc simulate`` reports), the SNN's large-T limit.
  SNN: ``snnc.simulate`` at every T (one run to the largest T).
* SpikingJelly: ``benchmarks/sj_side.py`` in the separate venv (SpikingJelly
  needs Python >= 3.11, snnc's Lava venv is 3.10), on the same calibration and
  test arrays, passed as one .npz file; conversion time is the Converter call.

For each network the table also gives the first T (of the T grid, extended by
doubling up to ``--t-max`` for networks SpikingJelly cannot convert) at which
snnc's SNN reaches the ANN's accuracy minus 0.3 point.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.suite import FEATURES, NAMES, data, onnx_path

ROOT = Path(__file__).resolve().parents[1]
TS = (4, 8, 16, 32, 64, 128)
SJ_KEYS = ("sj max", "sj robust")
MARGIN = 0.003  # "reaches the ANN": accuracy >= ANN - 0.3 point
EPS = 1e-9  # accuracies are multiples of 1/n: absorbs the float rounding of ANN - MARGIN (0.989 - 0.003 < 0.986)
TARGET_TS = (8, 16, 32, 64, 128)  # issue 17: snnc >= the better SpikingJelly mode at every T from 8 to 128


def ann_logits(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 500]})[0] for i in range(0, len(x), 500)])


@contextlib.contextmanager
def step_seconds():
    """{pipeline step: seconds} of the compile run inside the block (times snnc's own PIPELINE steps)."""
    from snnc.compiler.passes import pipeline
    times, saved = {}, pipeline.PIPELINE

    def timed(step):
        def run(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return step.run(*args, **kwargs)
            finally:
                times[step.name] = time.perf_counter() - t0
                times[step.name + " cpu"] = time.process_time() - c0
        return dataclasses.replace(step, run=run)
    pipeline.PIPELINE = tuple(timed(s) for s in saved)
    try:
        yield times
    finally:
        pipeline.PIPELINE = saved


def snnc_compile(model: Path, calib: Path, out: Path):
    """(artifact, seconds, calibration seconds, its CPU seconds): ``snnc compile MODEL --calib CALIB -o OUT``, the
    CLI's defaults."""
    import snnc
    from snnc.cli import main as cli
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf), step_seconds() as steps:
        rc = cli(["compile", str(model), "--calib", str(calib), "-o", str(out)])
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"snnc compile {model} failed (exit {rc}):\n{buf.getvalue()}")
    return snnc.load(str(out)), seconds, steps["calibrate"], steps["calibrate cpu"]


def first_reaching(acc: dict, target: float):
    """The smallest T whose accuracy is >= target, or None."""
    return next((t for t in sorted(acc) if acc[t] >= target - EPS), None)


def target_lines(result: dict) -> list:
    """Issue 17's accuracy targets per network, in words: ANN - 0.3 at T = 32, and >= the better SpikingJelly
    mode at every T of ``TARGET_TS`` in the grid (a miss names T and the points missed)."""
    lines = []
    for name, r in result["models"].items():
        acc, ann = r["snnc"]["acc"], r["ann_acc"]
        words = []
        if 32 in acc:
            gap = acc[32] - (ann - MARGIN)
            words.append(f"T=32 {pct(acc[32])} vs ANN-0.3 = {pct(ann - MARGIN)}: "
                         + ("met" if gap >= -EPS else f"missed by {-100 * gap:.1f} point"))
        sj = [r[k]["acc"] for k in SJ_KEYS if "acc" in r[k]]
        if sj:
            misses = [f"T={t} {pct(acc[t])} < {pct(best)}" for t in TARGET_TS if t in acc
                      for best in [max(s[str(t)] for s in sj)] if acc[t] < best - EPS]
            words.append("vs best SJ at T=8..128: " + ("met" if not misses else "missed at " + ", ".join(misses)))
        else:
            words.append("SpikingJelly cannot convert it")
        lines.append(f"{name}: " + "; ".join(words))
    return lines


def snnc_side(name: str, calib: Path, x, y, Ts, t_max: int, tmp: Path) -> dict:
    import snnc
    from snnc.compiler.clip_ann import clip_ann_outputs
    art, seconds, calib_seconds, calib_cpu = snnc_compile(onnx_path(name), calib, tmp / f"{name}.snnc")
    cal = art.meta["calibration"]
    clip = clip_ann_outputs(art, x)
    grid = sorted(set(Ts) | {t for t in (2 ** k for k in range(2, 16)) if max(Ts) < t <= t_max})
    t0 = time.perf_counter()
    res = snnc.simulate(art, x, T=grid, y=y, show_progress=False)
    return {"method": cal["method"], "options": art.meta.get("options", {}), "seconds": round(seconds, 2),
            "calib_seconds": round(calib_seconds, 2), "calib_cpu_seconds": round(calib_cpu, 2),
            "iters": cal["iters"], "batch_size": cal["batch_size"],
            "forwards_per_sample": cal["forwards_per_sample"], "engine": cal.get("engine"),
            "check_agreement": cal["check"]["agreement"],
            "sim_seconds": round(time.perf_counter() - t0, 1), "clip_acc": float(np.mean(clip.argmax(1) == y)),
            "clip_logits": clip, "acc": {t: float(res.accuracy[t]) for t in grid}}


def sj_side(names, files, sj_python: str, Ts, threads: int, tmp: Path) -> dict:
    """Run benchmarks/sj_side.py in SpikingJelly's venv; its JSON."""
    out = tmp / "sj.json"
    cmd = [sj_python, "-m", "benchmarks.sj_side", "--data", str(files), "--out", str(out),
           "--T", ",".join(map(str, Ts)), "--threads", str(threads)]
    cmd += [arg for n in names for arg in ("--model", f"{n}={onnx_path(n)}")]
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


def measure(args) -> dict:
    names = args.models.split(",")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise SystemExit(f"--models: unknown suite network(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if not Path(args.sj_python).is_file():
        raise SystemExit(f"--sj-python {args.sj_python}: SpikingJelly's venv is missing; create it with "
                         f"`make bench-sj` or pass its python")
    Ts = sorted(int(t) for t in args.T.split(","))
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch at import: the same threads as SJ's side
    with contextlib.suppress(ImportError):
        import torch  # noqa: F401  imported before the timed calls, as on SpikingJelly's side
    x_cal, _ = data("valid", args.n_calib)
    x, y = data("test", args.n)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="sj_compare_") as d:
        tmp = Path(d)
        np.save(tmp / "calib.npy", x_cal)
        anns = {n: ann_logits(onnx_path(n), x) for n in names}
        np.savez(tmp / "data.npz", x_cal=x_cal, x_test=x, y_test=y, **{f"ann_{n}": a for n, a in anns.items()})
        sj = sj_side(names, tmp / "data.npz", args.sj_python, Ts, args.threads, tmp)
        for n in names:
            s = sj["models"][n]
            convertible = all("acc" in s[k] for k in SJ_KEYS)
            sn = snnc_side(n, tmp / "calib.npy", x, y, Ts, Ts[-1] if convertible else args.t_max, tmp)
            ann = float(np.mean(anns[n].argmax(1) == y))
            sn["clip_agree"] = float(np.mean(sn.pop("clip_logits").argmax(1) == anns[n].argmax(1)))
            sn["first_T"] = first_reaching(sn["acc"], ann - MARGIN)
            rows[n] = {"features": FEATURES[n], "ann_acc": ann, "snnc": sn, **{k: s[k] for k in SJ_KEYS},
                       "torch_vs_onnxruntime_agree": s["torch_vs_onnxruntime_agree"]}
            print(f"{n}: ANN {100 * ann:.1f}, clip-ANN {100 * sn['clip_acc']:.1f}, snnc "
                  + " ".join(f"T={t} {100 * a:.1f}" for t, a in sn["acc"].items()), flush=True)
    return {"n_test": len(x), "n_calib": len(x_cal), "T": Ts, "spikingjelly": sj["spikingjelly"],
            "torch_sj": sj["torch"], "load_average": [round(v, 2) for v in os.getloadavg()], "models": rows}


def pct(v) -> str:
    return "" if v is None else f"{100 * v:.1f}"


def table(result: dict) -> str:
    Ts = result["T"]
    head = ["model", "ANN %", "clip-ANN %", "converter", "conversion s (snnc: calibration / compile)"] + [f"T={t}" for t in Ts] + [
        "first T >= ANN-0.3"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in result["models"].items():
        sn = r["snnc"]
        first = sn["first_T"] or f"> {max(sn['acc'])}"
        lines.append(f"| {name} | {pct(r['ann_acc'])} | {pct(sn['clip_acc'])} (agree {pct(sn['clip_agree'])}) | "
                     f"snnc default ({sn['method']}) | {sn['calib_seconds']:.1f} / {sn['seconds']:.1f} | "
                     + " | ".join(pct(sn["acc"][t]) for t in Ts) + f" | {first} |")
        for key in SJ_KEYS:
            s = r[key]
            if "acc" in s:
                first = first_reaching({int(t): a for t, a in s["acc"].items()}, r["ann_acc"] - MARGIN)
                cells = [pct(s["acc"][str(t)]) for t in Ts] + [str(first or f"> {max(Ts)}")]
            else:
                cells = [s["error"]] + [""] * len(Ts)
            lines.append(f"| {name} | | | SJ {key[3:]} ({s.get('mode', '')}) | {s['seconds']:.1f} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--n", type=int, default=1000, help="MNIST test images (default 1000)")
    ap.add_argument("--n-calib", type=int, default=10000, help="MNIST validation images to calibrate on (default all)")
    ap.add_argument("--T", default=",".join(map(str, TS)))
    ap.add_argument("--t-max", type=int, default=512, help="largest T searched for networks SJ cannot convert")
    ap.add_argument("--sj-python", default=str(ROOT / ".venv-sj" / "bin" / "python"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads on both sides (default 1; snnc's convolutions run in torch when installed)")
    ap.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON")
    args = ap.parse_args(argv)
    result = measure(args)
    print(f"\n{result['n_test']} test images, {result['n_calib']} calibration images; "
          f"spikingjelly {result['spikingjelly']}; load average {result['load_average']}\n")
    print(table(result))
    print("\nissue 17 targets:\n" + "\n".join(target_lines(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
