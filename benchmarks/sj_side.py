"""SpikingJelly's side of ``benchmarks/sj_compare.py``; runs inside ``.venv-sj`` (Python 3.11, spikingjelly).

    .venv-sj/bin/python -m benchmarks.sj_side --data DATA.npz --out OUT.json --model NAME [...] [--T 4,8,...]

Imports torch, onnx, numpy and spikingjelly only (never snnc, whose venv is
Python 3.10). For each suite network: the torch module is rebuilt from
``benchmarks.suite.models`` and its weights are read from the committed ONNX
file's initializers (the legacy exporter keeps the state-dict names); its
logits must match the ANN logits the caller computed with onnxruntime
(argmax agreement is reported). Then, for each SpikingJelly conversion mode,
``ann2snn.Converter(dataloader, mode=...)`` converts it on the caller's
calibration images (batches of ``--batch``, one pass, as the Converter does)
and the SNN runs on the test images for max(T) steps with the same analog
input every step; the accumulated output is read at every T of ``--T``.

spikingjelly 0.0.0.0.14 (PyPI's newest release) offers the modes ``Max``
(max norm) and ``99.9%`` (robust norm, Rueckauer et al. 2017); 2.0's
``LocalThresholdBalancingRecipe`` is not in it (see docs/benchmarks.md).
The Converter replaces ``nn.ReLU`` modules only: a network whose other
activations (ReLU6, ...) would stay analog is reported as not convertible.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

MODES = {"sj max": "Max", "sj robust": "99.9%"}


def load_torch(name: str, onnx_path: str) -> torch.nn.Module:
    """The suite network ``name`` with the ONNX file's weights (state-dict names = initializer names)."""
    import onnx
    from onnx import numpy_helper
    from benchmarks.suite.models import MODELS
    model = MODELS[name]()
    graph = onnx.load(onnx_path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # the exporter shares equal parameters (e.g. untrained batch norms) through Identity nodes
    inits.update({n.output[0]: inits[n.input[0]] for n in graph.node if n.op_type == "Identity" and n.input[0] in inits})
    state = model.state_dict()
    missing = [k for k in state if k not in inits and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"{onnx_path}: no initializer for {', '.join(missing[:5])}: not exported by "
                         f"benchmarks.suite.train from benchmarks.suite.models.{name}?")
    model.load_state_dict({k: torch.from_numpy(inits[k].copy()) if k in inits else v for k, v in state.items()})
    return model.eval()


def blockers(snn: torch.nn.Module) -> list:
    """Activation modules the conversion left analog (SpikingJelly replaces nn.ReLU only)."""
    acts = (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Hardtanh, torch.nn.SiLU, torch.nn.GELU, torch.nn.Sigmoid)
    return sorted({type(m).__name__ for m in snn.modules() if isinstance(m, acts)})


@torch.no_grad()
def run_snn(snn, x: np.ndarray, Ts: list, batch: int) -> dict:
    """Predictions {T: (N,)} of the SNN, accumulating its output over max(Ts) steps (constant input)."""
    from spikingjelly.activation_based import functional
    preds = {t: [] for t in Ts}
    for a in range(0, len(x), batch):
        xb = torch.from_numpy(x[a:a + batch])
        functional.reset_net(snn)
        acc = 0
        for t in range(1, Ts[-1] + 1):
            acc = acc + snn(xb)
            if t in preds:
                preds[t].append(acc.argmax(1).numpy())
    return {t: np.concatenate(p) for t, p in preds.items()}


def convert(model, x_cal: np.ndarray, mode: str, batch: int):
    """(snn, seconds, CPU seconds of this process): SpikingJelly's Converter on the calibration images."""
    import copy
    from spikingjelly.activation_based import ann2snn
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x_cal), torch.zeros(len(x_cal), dtype=torch.long))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        snn = ann2snn.Converter(loader, device="cpu", mode=mode)(copy.deepcopy(model))
    return snn, time.perf_counter() - t0, time.process_time() - c0


def side(name: str, onnx_path: str, data: dict, Ts: list, batch: int) -> dict:
    model = load_torch(name, onnx_path)
    x, y, ann = data["x_test"], data["y_test"], data[f"ann_{name}"]
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(x[a:a + 500])) for a in range(0, len(x), 500)]).numpy()
    row = {"torch_vs_onnxruntime_agree": float(np.mean(logits.argmax(1) == ann.argmax(1))),
           "torch_vs_onnxruntime_max_abs": float(np.abs(logits - ann).max())}
    for key, mode in MODES.items():
        snn, seconds, cpu = convert(model, data["x_cal"], mode, batch)
        left = blockers(snn)
        if left:
            row[key] = {"error": f"not convertible: {', '.join(left)} left analog (SpikingJelly's Converter "
                                 f"replaces nn.ReLU only)", "seconds": round(seconds, 2),
                        "cpu_seconds": round(cpu, 2), "mode": mode}
            continue
        t0 = time.perf_counter()
        preds = run_snn(snn, x, Ts, batch)
        row[key] = {"acc": {str(t): float(np.mean(p == y)) for t, p in preds.items()}, "seconds": round(seconds, 2),
                    "cpu_seconds": round(cpu, 2),
                    "sim_seconds": round(time.perf_counter() - t0, 1), "mode": mode}
        print(f"{name} {key}: " + " ".join(f"T={t} {100 * np.mean(p == y):.1f}" for t, p in preds.items()), flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="npz from sj_compare: x_cal, x_test, y_test, ann_NAME logits")
    ap.add_argument("--out", required=True, help="JSON results")
    ap.add_argument("--model", action="append", required=True, metavar="NAME=ONNX")
    ap.add_argument("--T", default="4,8,16,32,64,128")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from importlib.metadata import version
    Ts = sorted(int(t) for t in args.T.split(","))
    with np.load(args.data, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    out = {"spikingjelly": version("spikingjelly"), "torch": torch.__version__, "models": {}}
    for spec in args.model:
        name, path = spec.split("=", 1)
        out["models"][name] = side(name, path, data, Ts, args.batch)
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
