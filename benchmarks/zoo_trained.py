"""Trained torchvision architectures on MNIST: how close the converted SNN gets to the ANN.

``zoo_coverage.py`` measures the zoo on random weights; this script trains the
unmodified torchvision architecture (``num_classes=10``, ``weights=None``)
briefly on real MNIST (padded to 32x32, the channel repeated 3 times,
normalised (x - 0.5) / 0.5; AdamW + OneCycle, batch 128, fixed seeds, CPU) and
then, on the first ``--n-test`` MNIST test images:

* ``ann_acc``: the torch model's accuracy;
* ``snnc.from_torch`` at (1, 3, 32, 32), ``snnc.compile`` (``--method``,
  default cltb) on the first ``--n-calib`` training images (K and batch as
  compile chose them);
* ``snnc.simulate`` at T = 16 ... 256: accuracy ``acc[T]``, agreement of the
  SNN argmax with the ANN argmax ``agree[T]``, cosine of the SNN readout with the
  ANN logits ``cos[T]`` and the centred cosine cos(s_i - m, a_i - m), m the mean
  ANN logit vector over the test images (a constant output scores 0);
* ``clip_acc``: the clip-ANN (the compiled graph run as an ANN,
  ``snnc.compiler.execute.predict``, the SNN's large-T limit) and its cosines
  with the ANN (clipping error) and with the SNN at the largest T (spiking error);
  ``ideal``: the clip-ANN with every neuron rounded to the largest T's rate
  levels (``zoo_coverage.rate_quantise_hook``).

State dicts go to ``--cache`` (default /tmp/snnc_zoo_trained) and are reused
when the training settings match. Run from the repo root:
``python -m benchmarks.zoo_trained --models mobilenet_v2,resnet18 --json out.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.zoo_coverage import cosine, rate_quantise_hook

log = logging.getLogger("zoo_trained")
TS = (16, 32, 64, 128, 256)


def mnist_3x32(split: str, n=None) -> tuple:
    """MNIST as (N, 3, 32, 32) float32 in [-1, 1): zero-padded to 32, channel repeated, (x - 0.5) / 0.5."""
    from snnc.compiler.data import load_data
    ds = load_data(f"mnist:{split}", n=n)
    x = np.pad(ds.x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    return np.ascontiguousarray(np.repeat((x - 0.5) / 0.5, 3, axis=1), np.float32), ds.y


def build(name: str):
    import torchvision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(name, weights=None, num_classes=10)


def train(name: str, x: np.ndarray, y: np.ndarray, args) -> tuple:
    """(model in eval mode, training record); AdamW + OneCycle, cross-entropy, stops after --steps if given."""
    import torch
    cache = Path(args.cache) / f"{name}_e{args.epochs}_s{args.steps}_b{args.batch}_lr{args.lr:g}_seed{args.seed}.pt"
    torch.manual_seed(args.seed)
    model = build(name)
    per_epoch = len(x) // args.batch
    steps = per_epoch * args.epochs if args.steps is None else min(args.steps, per_epoch * args.epochs)
    if cache.is_file():
        model.load_state_dict(torch.load(cache, weights_only=True))
        record = json.loads(cache.with_suffix(".json").read_text())
        log.info("%s: reusing %s", name, cache)
        return model.eval(), record
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    t0, step, losses = time.time(), 0, []
    while step < steps:
        for idx in torch.randperm(len(x), generator=gen)[:per_epoch * args.batch].view(per_epoch, args.batch):
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0:
                log.info("%s: step %d/%d loss %.4f (%.0f s)", name, step, steps, np.mean(losses[-50:]), time.time() - t0)
            if step >= steps:
                break
    record = {"steps": steps, "epochs": round(steps / per_epoch, 3), "batch": args.batch, "max_lr": args.lr,
              "train_images": len(x), "final_loss": float(np.mean(losses[-50:])),
              "train_seconds": round(time.time() - t0, 1)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), cache)
    cache.with_suffix(".json").write_text(json.dumps(record))
    return model.eval(), record


def batched_run(graph, x: np.ndarray, hook, batch: int = 100) -> np.ndarray:
    from snnc.compiler.execute import run
    out = graph.outputs[0]
    return np.concatenate([run(graph, x[i:i + batch], hook=hook)[out] for i in range(0, len(x), batch)])


def measure(name: str, data: dict, args) -> dict:
    """Train, convert, simulate one architecture; the result row."""
    import torch
    import snnc
    from snnc.compiler.execute import predict

    x_tr, y_tr = data["train"]
    x, y = data["test"]
    model, record = train(name, x_tr, y_tr, args)
    with torch.no_grad():
        ann = np.concatenate([model(torch.from_numpy(x[i:i + 250])).numpy() for i in range(0, len(x), 250)])
    centre = ann.mean(0)
    t0 = time.time()
    graph = snnc.from_torch(model, (1, 3, 32, 32), name=f"torchvision:{name}")
    art = snnc.compile(graph, calib=x_tr[:args.n_calib], method=args.method, percentile=args.percentile)
    compile_s = time.time() - t0
    clip = predict(art.snn, x)
    ideal = batched_run(art.snn, x, rate_quantise_hook(art.snn, TS[-1]))
    t0 = time.time()
    res = snnc.simulate(art, x, T=TS, y=y, batch_size=args.sim_batch, show_progress=False)
    sim_s = time.time() - t0
    opts = art.meta["options"]
    opts["method"] += f" p={opts['percentile']:g}" if "percentile" in opts else ""
    ann_pred, big = ann.argmax(1), TS[-1]
    row = {"model": name, "ops": len(graph) - len(graph.inputs), "macs": graph.macs(), **record,
           "n_test": len(x), "n_calib": min(args.n_calib, len(x_tr)), "method": opts["method"],
           "K": opts["iters"], "calib_batch": opts["batch_size"],
           "ann_acc": float(np.mean(ann_pred == y)), "clip_acc": float(np.mean(clip.argmax(1) == y)),
           "clip_agree": float(np.mean(clip.argmax(1) == ann_pred)),
           "ideal_acc": float(np.mean(ideal.argmax(1) == y)),
           "acc": {t: float(res.accuracy[t]) for t in TS},
           "agree": {t: float(np.mean(res.predictions(t) == ann_pred)) for t in TS},
           "cos": {t: cosine(res.logits[t], ann) for t in TS},
           "cos_centred": {t: cosine(res.logits[t] - centre, ann - centre) for t in TS},
           "cos_clip": cosine(clip, ann), "cos_clip_centred": cosine(clip - centre, ann - centre),
           "cos_snn_clip": cosine(res.logits[big], clip), "cos_ideal": cosine(ideal, ann),
           "cos_ideal_centred": cosine(ideal - centre, ann - centre),
           "compile_seconds": round(compile_s, 1), "sim_seconds": round(sim_s, 1)}
    return row


def table(rows: list) -> str:
    head = ["model", "steps", "ANN %", "clip %"] + [f"T={t} %" for t in TS] + [
        f"agree T={TS[-1]}", f"cos T={TS[-1]}", "centred", "clip/ANN", "SNN/clip", "ideal/ANN"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        cells = [r["model"], str(r["steps"]), f"{100 * r['ann_acc']:.1f}", f"{100 * r['clip_acc']:.1f}"]
        cells += [f"{100 * r['acc'][t]:.1f}" for t in TS]
        cells += [f"{r['agree'][TS[-1]]:.3f}", f"{r['cos'][TS[-1]]:.4f}", f"{r['cos_centred'][TS[-1]]:.4f}",
                  f"{r['cos_clip']:.4f}", f"{r['cos_snn_clip']:.4f}", f"{r['cos_ideal']:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mobilenet_v2,resnet18", help="comma-separated torchvision names")
    p.add_argument("--epochs", type=int, default=1, help="training epochs (default 1)")
    p.add_argument("--steps", type=int, default=None, help="stop training after this many steps")
    p.add_argument("--batch", type=int, default=128, help="training batch size (default 128)")
    p.add_argument("--lr", type=float, default=2e-3, help="OneCycle max learning rate (default 2e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-test", type=int, default=1000, help="first MNIST test images (default 1000)")
    p.add_argument("--n-calib", type=int, default=2000, help="first MNIST training images for compile")
    p.add_argument("--method", default="cltb", help="threshold calibration method (default cltb)")
    p.add_argument("--percentile", type=float, default=99.99, help="p for (c)percentile methods (default 99.99)")
    p.add_argument("--sim-batch", type=int, default=100, help="simulation batch size (default 100)")
    p.add_argument("--cache", default="/tmp/snnc_zoo_trained", help="state-dict cache (never the repo)")
    p.add_argument("--json", default=None, help="write the rows as JSON here (after every model)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import torch
    from snnc.cli.common import check_writable

    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    check_writable(args.json, "--json")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    log.setLevel(logging.INFO)
    torch.set_num_threads(2)
    np.random.seed(args.seed)
    data = {"train": mnist_3x32("train"), "test": mnist_3x32("test", args.n_test)}
    rows = []
    for name in args.models.split(","):
        t0 = time.time()
        rows.append(measure(name, data, args))
        rows[-1]["total_seconds"] = round(time.time() - t0, 1)
        log.info("%s", json.dumps(rows[-1]))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
