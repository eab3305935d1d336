"""torchvision model-zoo coverage: which classifiers snnc converts, and how well, on random weights.

For every torchvision classification model:

* unsupported activations/layers (hard-swish, SiLU, GELU, sigmoid gates,
  LayerNorm, attention) -> status "unsupported: <kinds>", taken from the
  UnsupportedModelError that ``snnc.from_torch`` raises (the real code path);
* otherwise: random weights with batch-norm statistics calibrated on the
  calibration data (``calibrate_bn_stats``), ``snnc.from_torch`` at a small
  input, ``snnc.compile`` (cltb by default) on random calibration data,
  ``snnc.simulate`` at T = 64 and 256 on held-out random inputs, and
  cosine(SNN readout, ANN logits from torch), averaged over the samples.
  The cosine with the clip-ANN (the compiled graph evaluated as an ANN: the
  function the SNN converges to) separates conversion error from clipping:
  ``cos_clip`` = cos(clip-ANN, ANN) (threshold / clipping error),
  ``cos_snn_clip`` = cos(SNN T=256, clip-ANN) (spiking conversion error).
  ``cos_ideal`` = cos(ideal rate-quantised clip-ANN, ANN) at T=256: every
  neuron's output rounded to the T levels an IF neuron reaches on a constant
  input (``rate_quantise_hook``), how sensitive the network itself is to a 1/T
  resolution; ``cos_ideal_clip`` the same against the clip-ANN (JSON only).
  ``top1`` is the fraction of images whose SNN argmax equals the ANN argmax,
  ``cos_inputs`` the mean cosine between the ANN logits of different images
  (what a constant output would score: the cosine is informative only well above it),
  and ``*_centred`` the same cosines after subtracting ``m``, the mean ANN
  logit vector over the calibration images: cos(a_i - m, b_i - m) compares only
  the input-specific part of the logits (``cos_T256_centred``,
  ``cos_ideal_centred``, ``cos_clip_centred``; a constant output scores 0).

Inputs are N(0, 1) images (what normalised images look like to a network).
Writes ``docs/model_zoo.md`` after every model (and ``--json`` rows); runs for
a long time on 2 cores: ``nohup python benchmarks/zoo_coverage.py > zoo.log 2>&1 &``.
``--models resnet18,vgg11`` restricts the run, ``--size 32,64,128`` measures
every model at each input size (one row each); ``--resume`` reuses the rows of
an earlier ``--json`` file. Write anywhere but the docs with ``--out``.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger("zoo_coverage")
ROOT = Path(__file__).resolve().parents[1]
SIZE = {"alexnet": 64, "inception_v3": 80}  # smallest inputs the architectures accept; default below
DEFAULT_SIZE = 32
T_SOP, T_COS = 64, 256
# run order: instant scans first, then ReLU-family models roughly by cost (the table is sorted by name)
RUN_ORDER = (
    "convnext*", "efficientnet*", "maxvit*", "mobilenet_v3*", "swin*", "vit*", "regnet_y*",
    "squeezenet*", "mnasnet*", "mobilenet_v2", "shufflenet*", "resnet18", "resnet34",
    "regnet_x_400mf", "regnet_x_800mf", "googlenet", "densenet121", "resnet50", "alexnet", "vgg11",
    "vgg11_bn", "inception_v3", "regnet_x_1_6gf", "resnext50_32x4d", "densenet169", "densenet201",
    "densenet161", "vgg13", "vgg13_bn", "resnet101", "regnet_x_3_2gf", "vgg16", "vgg16_bn",
    "wide_resnet50_2", "resnet152", "vgg19", "vgg19_bn", "regnet_x_8gf", "resnext101_32x8d",
    "resnext101_64x4d", "regnet_x_16gf", "wide_resnet101_2", "regnet_x_32gf", "*",
)


def build(name: str, device: str = "cpu"):
    import torch
    import torchvision
    with warnings.catch_warnings(), torch.device(device):
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(name, weights=None)


def unsupported_reason(name: str):
    """The first line of from_torch's UnsupportedModelError for ``name``, or None if it passes the scan."""
    from snnc.compiler.errors import UnsupportedModelError
    from snnc.frontends.torch import check_supported
    try:
        model = build(name, "meta")  # no memory, no init: the scan only looks at module types
    except Exception:  # noqa: BLE001 - some builders compute on tensors (regnet): build for real
        model = build(name)
    try:
        check_supported(model, f"torchvision:{name}")
    except UnsupportedModelError as e:
        return str(e).splitlines()[0]
    return None


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over samples of cos(a_i, b_i)."""
    num = (a * b).sum(1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30
    return float(np.mean(num / den))


def input_cosine(ann: np.ndarray) -> float:
    """Mean cosine between the logits of distinct images (None for a single image)."""
    n = len(ann)
    if n < 2:
        return None
    u = ann / (np.linalg.norm(ann, axis=1, keepdims=True) + 1e-30)
    g = u @ u.T
    return float((g.sum() - np.trace(g)) / (n * (n - 1)))


def rate_quantise_hook(graph, T: int):
    """``run(graph, x, hook=...)`` hook: each IF neuron's clip-ANN output on T rate levels.

    An IF neuron (reset by subtraction, v(0) = v_init) driven by a constant
    current a in [0, theta] fires n = floor((T a + v_init) / theta) times in T
    steps (0 <= n <= T), so its rate output is theta * n / T. Applied to every
    neuron this is the SNN with ideal, transient-free inputs: the error it
    leaves is the network's own sensitivity to the 1/T resolution.
    """
    from snnc.compiler.ir import IFNeuron

    params = {n.name: (n.op.threshold, n.op.v_init) for n in graph.of_type(IFNeuron)}

    def per_channel(p, ndim):
        p = np.asarray(p, np.float32)
        return p.reshape((1, -1) + (1,) * (ndim - 2)) if p.ndim else p

    def hook(name, a):
        if name not in params:
            return None
        theta, v0 = (per_channel(p, a.ndim) for p in params[name])
        n = np.clip(np.floor((T * a + v0) / np.maximum(theta, 1e-30)), 0, T)
        return (theta * n / T).astype(a.dtype)
    return hook


def measure(name: str, args, size: int) -> dict:
    """Compile and simulate one ReLU-family model at one input size; the table row."""
    import torch
    import snnc
    from snnc.compiler.execute import run
    from snnc.compiler.ir import IFNeuron
    from snnc.frontends.torch import calibrate_bn_stats

    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    calib = rng.standard_normal((args.calib, 3, size, size)).astype(np.float32)
    x = rng.standard_normal((args.eval, 3, size, size)).astype(np.float32)
    t0 = time.time()
    model = calibrate_bn_stats(build(name), calib)
    with torch.no_grad():
        ann = model(torch.from_numpy(x)).numpy()
        centre = model(torch.from_numpy(calib)).numpy().mean(0)  # the input-independent part
    graph = snnc.from_torch(model, (1, 3, size, size), name=f"torchvision:{name}")
    art = snnc.compile(graph, calib=calib, method=args.method, iters=args.iters, batch_size=args.batch,
                       percentile=args.percentile)
    clip = run(art.snn, x)[art.snn.outputs[0]]
    ideal = run(art.snn, x, hook=rate_quantise_hook(art.snn, T_COS))[art.snn.outputs[0]]
    res = snnc.simulate(art, x, T=(T_SOP, T_COS), batch_size=args.eval, show_progress=False)
    sop = sum(sum(layer.sop_per_step[:T_SOP]) for layer in res.activity.layers)
    return {"model": name, "status": "ok", "input": f"3x{size}x{size}", "ops": len(graph) - len(graph.inputs),
            "macs": graph.macs(), "neurons": int(sum(np.prod(n.shape) for n in art.snn.of_type(IFNeuron))),
            "sop_T64": float(sop), "cos_T256": cosine(res.logits[T_COS], ann),
            "cos_T64": cosine(res.logits[T_SOP], ann), "cos_clip": cosine(clip, ann),
            "cos_snn_clip": cosine(res.logits[T_COS], clip), "cos_inputs": input_cosine(ann),
            "cos_ideal": cosine(ideal, ann), "cos_ideal_clip": cosine(ideal, clip),
            "cos_T256_centred": cosine(res.logits[T_COS] - centre, ann - centre),
            "cos_ideal_centred": cosine(ideal - centre, ann - centre),
            "cos_clip_centred": cosine(clip - centre, ann - centre),
            "top1": float(np.mean(res.logits[T_COS].argmax(1) == ann.argmax(1))),
            "seconds": round(time.time() - t0, 1)}


def sizes_for(name: str, args) -> list[int]:
    return args.size or [SIZE.get(name, DEFAULT_SIZE)]


def rows_for(name: str, args, done: dict) -> list[dict]:
    """The model's rows: one "unsupported" row, or one measured (or resumed) row per input size."""
    from snnc.compiler.errors import SnncError
    reason = unsupported_reason(name)
    if reason:
        return [{"model": name, "status": "unsupported", "reason": reason}]
    rows = []
    for size in sizes_for(name, args):
        key = (name, f"3x{size}x{size}")
        if key in done:
            rows.append(done[key])
            continue
        try:
            rows.append(measure(name, args, size))
        except SnncError as e:
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            rows.append({"model": name, "status": "failed", "input": key[1],
                         "reason": f"{type(e).__name__}: {' '.join(lines[:2])}"})
    return rows


def _f(v, fmt):
    return "" if v is None else format(v, fmt)


def shown_command(argv: list[str]) -> str:
    """The command line without output / cache options."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--out", "--json", "--compare"):
            skip = True
        elif a != "--resume" and not a.startswith(("--out=", "--json=", "--compare=")):
            out.append(a)
    return " ".join(["python benchmarks/zoo_coverage.py", *out])


COLUMNS = (
    "*ops* IR nodes of the imported ANN; *MACs* per image of the ANN; *neurons* IF neurons; "
    f"*SOP T={T_SOP}* synaptic operations per image over {T_SOP} steps (exact count); *cos T* the mean "
    "cosine similarity of the SNN readout with the ANN logits (torch); *top-1* the fraction of images "
    f"whose SNN argmax (T={T_COS}) equals the ANN argmax (random logits lie close together: a fragile "
    "measure on 2-4 images); *clip/ANN* the cosine of the compiled graph evaluated as an ANN "
    "(clip(z, 0, theta) neurons: the limit of the SNN as T grows) with the ANN logits: the threshold "
    f"(clipping) error; *SNN/clip* the cosine of the SNN readout at T={T_COS} with the clip-ANN: the "
    f"spiking conversion error; *ideal T={T_COS}* the cosine with the ANN logits of the clip-ANN with "
    f"every neuron's output rounded to the {T_COS} rate levels an IF neuron reaches on a constant input "
    "(theta * floor((T a + v_init) / theta) / T, clipped to [0, theta]): the SNN without transients, "
    "how sensitive the network itself is to a 1/T resolution; *inputs* the mean cosine between the ANN "
    "logits of different images, what an input-independent output would score (cosine is informative "
    f"only well above it); *centred* the cos T={T_COS} after subtracting the mean ANN logit vector over the "
    "calibration images from both: the input-specific part only (a constant output scores 0)."
)


def _ok_row(r: dict, label: str, other: dict) -> str:
    cells = [r["model"], "ok", r["input"], str(r["ops"]), f"{r['macs'] / 1e6:.1f} M", f"{r['neurons']:,}",
             f"{r['sop_T64'] / 1e6:.1f} M", _f(r["cos_T64"], ".4f"), _f(r["cos_T256"], ".4f"),
             _f(r.get("top1"), ".2f"), _f(r["cos_clip"], ".4f"), _f(r.get("cos_snn_clip"), ".4f"),
             _f(r.get("cos_ideal"), ".4f"), _f(r.get("cos_inputs"), ".2f"), _f(r.get("cos_T256_centred"), ".4f"),
             str(r["seconds"])]
    if label:
        cells.append(_f(other.get(r["model"], {}).get("cos_T256"), ".4f"))
    return "| " + " | ".join(cells) + " |"


def markdown(rows: list[dict], args, argv: list[str], compare: tuple = ("", {})) -> str:
    models = {r["model"] for r in rows}  # several rows per model with --size 32,64,...
    ok = {r["model"] for r in rows if r["status"] == "ok"}
    good = {r["model"] for r in rows if r["status"] == "ok" and r["cos_T256"] >= 0.99}
    label, other = compare
    method = args.method + (f" p={args.percentile:g}" if "percentile" in args.method else "")
    head = ["model", "status", "input", "ops", "MACs", "neurons", f"SOP T={T_SOP}", f"cos T={T_SOP}",
            f"cos T={T_COS}", "top-1", "clip/ANN", "SNN/clip", f"ideal T={T_COS}", "inputs",
            "centred", "time s"]
    head += [f"cos T={T_COS} ({label})"] if label else []
    lines = [
        "# torchvision model-zoo coverage",
        "",
        f"Generated by `benchmarks/zoo_coverage.py` (command: `{shown_command(argv)}`). "
        "Random weights, batch-norm statistics calibrated on the calibration "
        f"data (`snnc.frontends.torch.calibrate_bn_stats`); {args.calib} N(0,1) calibration images, "
        f"threshold calibration `{method}` (iters {args.iters or 'default'}, batch {args.batch}); "
        f"{args.eval} held-out N(0,1) images for the SNN (T = {T_SOP} and {T_COS}, auto readout delay).",
        "",
        "Columns: " + COLUMNS,
        "",
        f"{len(ok)} of {len(models)} models convert; {len(good)} reach cosine >= 0.99 at T={T_COS}."
        + (f" The last column is the cos T={T_COS} of another run, `{label}` (blank: not in that run; "
           "its command is in the notes below)."
           if label else ""),
        "",
        "| " + " | ".join(head) + " |",
        "|---|---|---|" + "---:|" * (len(head) - 3),
    ]
    for r in rows:
        if r["status"] == "ok":
            lines.append(_ok_row(r, label, other))
        else:
            reason = r["reason"].replace("|", "/").rstrip(":")
            lines.append(f"| {r['model']} | {r['status']}: {reason} |" + " |" * (len(head) - 2))
    return "\n".join(lines) + "\n"


NOTES_MARKER = "<!-- notes: kept when the table is regenerated -->"


def kept_notes(path: Path) -> str:
    """The hand-written section after ``NOTES_MARKER`` in an existing output file ("" if none)."""
    text = path.read_text() if path.is_file() else ""
    i = text.find(NOTES_MARKER)
    return "" if i < 0 else "\n" + text[i:]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="*", help="comma-separated names or globs (default: every classifier)")
    p.add_argument("--size", type=_sizes, default=None,
                   help=f"input size(s), e.g. 32 or 32,64,128 (default {DEFAULT_SIZE}; {SIZE})")
    p.add_argument("--calib", type=int, default=64, help="calibration images (default 64)")
    p.add_argument("--eval", type=int, default=4, help="simulated images (default 4)")
    p.add_argument("--method", default="cltb", help="threshold calibration method (default cltb)")
    p.add_argument("--iters", type=int, default=None, help="calibration iterations (default: snnc's, 100)")
    p.add_argument("--percentile", type=float, default=99.99, help="p for (c)percentile methods (default 99.99)")
    p.add_argument("--batch", type=int, default=8, help="calibration batch size (default 8)")
    p.add_argument("--out", default=str(ROOT / "docs" / "model_zoo.md"), help="markdown output")
    p.add_argument("--json", default=None, help="also write the rows as JSON here")
    p.add_argument("--resume", action="store_true", help="reuse rows already in --json")
    p.add_argument("--compare", default=None, metavar="LABEL=JSON",
                   help="add a cos T=256 column from another run's --json rows (e.g. max=zoo_max.json)")
    return p.parse_args(argv)


def _sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main(argv=None) -> int:
    import torchvision
    from snnc.compiler.progress import progress

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    log.setLevel(logging.INFO)
    names = torchvision.models.list_models(module=torchvision.models)
    pats = RUN_ORDER if args.models == "*" else args.models.split(",")  # run order follows the patterns
    names = [n for p in pats for n in names if fnmatch.fnmatch(n, p)]
    names = list(dict.fromkeys(names))
    done = {}
    if args.resume and args.json and Path(args.json).is_file():
        done = {(r["model"], r.get("input")): r for r in json.loads(Path(args.json).read_text())}
    compare = ("", {})
    if args.compare:
        label, _, path = args.compare.partition("=")
        compare = (label, {r["model"]: r for r in json.loads(Path(path).read_text())})
    rows, notes = [], kept_notes(Path(args.out))
    for name in progress(names, desc="zoo", unit="model"):
        for row in rows_for(name, args, done):
            rows.append(row)
            log.info("%s", json.dumps(row))
        ordered = sorted(rows, key=lambda r: (r["model"], int(r.get("input", "3x0x0").split("x")[-1])))
        Path(args.out).write_text(markdown(ordered, args, argv, compare) + notes)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
