"""Lava fixed point against floating point on trained networks with wide classifiers.

Trains (or loads from ``--cache``) a max-pool VGG on real MNIST -- conv 1->32,
32->32, maxpool, conv 32->64, 64->64, maxpool, flatten 3136 -> 256 -> 10, each
conv / hidden linear with batch norm and ReLU (AdamW, one epoch on
``--n-train`` images, batch 128, seed 0, CPU) -- compiles it with the default
``snnc.compile`` (cltb: per-channel thresholds folded into the weights), and on
the first ``--n-test`` test images at ``--T`` reports the accuracy of the
NumPy simulator and of the Lava NumPy reference in floating point and in
fixed point (``--weight-bits``; the reference is bit-exact to the Lava runs,
``tests/runtime``: Lava itself runs the first ``--lava`` images to check it
here too, Lava's Conv being too slow on this machine for 100 images), the
agreement of fixed with float predictions, and per layer the deployment plan's
exponent scheme, weight error and the output units whose weights all
quantised to zero. ``--model example`` measures the bundled example network
(residual, max pools) instead. Run from the repo root::

    python -m benchmarks.bench_fixed_point --n-test 100 --T 32
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def vgg():
    from torch import nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 256, bias=False), nn.BatchNorm1d(256),
                         nn.ReLU(), nn.Linear(256, 10))


def train_vgg(n_train: int, cache: Path):
    import torch
    from snnc.compiler.data import load_data
    torch.manual_seed(0)
    model = vgg()
    path = cache / f"vgg_maxpool_n{n_train}.pt"
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    ds = load_data("mnist:train", n=n_train)
    x, y = torch.from_numpy(ds.x), torch.from_numpy(np.asarray(ds.y, np.int64))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for i in torch.randperm(len(x)).split(128):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i]), y[i]).backward()
        opt.step()
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval()


def measure(art, x, y, T: int, weight_bits: int, n_lava: int) -> dict:
    """NumPy simulator and the Lava reference (float / fixed, bit-exact to the Lava runs by the tests) on
    every image; Lava itself (float and fixed) on the first ``n_lava`` as a check of that identity."""
    from snnc.compiler.lower import NumberFormat, make_plan
    from snnc.runtime.backends import get_backend
    from snnc.runtime.lava.backend import LavaBackend
    from snnc.runtime.lava.reference import Reference
    t0 = time.time()
    sim = get_backend("numpy").run(art, x, T, y=y)
    d = art.readout_delay(T)
    pred = {}
    for name, fmt in (("float", NumberFormat()), ("fixed", NumberFormat(True, weight_bits)),
                      ("fixed_one_exponent", NumberFormat(True, weight_bits, per_channel=False))):
        trace, _, _ = Reference(art.snn, plan=make_plan(art.snn, fmt)).run(x, T)
        pred[name] = trace[:, d:T].mean(axis=1).argmax(1)
    plan = make_plan(art.snn, NumberFormat(True, weight_bits))
    out = {"T": T, "n": len(x), "numpy_float": sim.accuracy[T],
           "reference_float": float(np.mean(pred["float"] == y)), "reference_fixed": float(np.mean(pred["fixed"] == y)),
           "reference_fixed_one_exponent_per_layer": float(np.mean(pred["fixed_one_exponent"] == y)),
           "fixed_agrees_with_float": float(np.mean(pred["fixed"] == pred["float"])),
           "layers": {k: {"scheme": v.scheme, "exponents": f"{v.exponents.min()}..{v.exponents.max()}",
                          "weight_error": round(v.weight_error, 4), "units_zeroed": v.units_zeroed}
                      for k, v in plan.layers.items()}}
    if n_lava:
        flt = LavaBackend().run(art, x[:n_lava], T)
        fix = LavaBackend(fixed=True, weight_bits=weight_bits).run(art, x[:n_lava], T)
        out["lava"] = {"n": n_lava, "float_equals_reference": bool(np.array_equal(flt.predictions(T),
                                                                                  pred["float"][:n_lava])),
                       "fixed_equals_reference": bool(np.array_equal(fix.predictions(T), pred["fixed"][:n_lava])),
                       "warnings": fix.lava.numerics.get("warnings", [])}
    out["seconds"] = round(time.time() - t0, 1)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="vgg", help="vgg (trained here), example, or suite:NAME "
                    "(examples/suite/NAME.onnx, calibrated on mnist:valid)")
    ap.add_argument("--n-train", type=int, default=12000)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--T", type=int, default=32)
    ap.add_argument("--weight-bits", type=int, default=8)
    ap.add_argument("--lava", type=int, default=5, help="images also run on Lava (float and fixed)")
    ap.add_argument("--cache", default="/tmp/snnc_bench_fixed_point")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    calib = load_data("mnist:train", n=512).x
    if args.model == "vgg":
        graph = snnc.from_torch(train_vgg(args.n_train, Path(args.cache)), (1, 1, 28, 28), name="vgg_maxpool")
    elif args.model.startswith("suite:"):
        graph = str(Path(__file__).resolve().parents[1] / "examples" / "suite" / f"{args.model[6:]}.onnx")
        calib = load_data("mnist:valid", n=1000).x
    else:
        graph = str(example_model_path())
    art = snnc.compile(graph, calib=calib)
    test = load_data("mnist:test", n=args.n_test)
    out = {"model": args.model, **measure(art, test.x, test.y, args.T, args.weight_bits, args.lava)}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
