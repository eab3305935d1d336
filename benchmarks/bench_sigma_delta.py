"""Binary IF vs sigma-delta (graded spikes) on the example model: accuracy vs T and bits, energy at 99% of the ANN.

    python -m benchmarks.bench_sigma_delta [--n 1000] [--bits 2,3,4,5,6,7,8] [--json]

The same figures as these commands (one compile and simulation per network)::

    snnc compile examples/mnist_cnn.onnx --calib mnist -o if.snnc
    snnc compile examples/mnist_cnn.onnx --calib mnist --neuron sigma-delta --act-bits 8 -o sd8.snnc
    snnc simulate sd8.snnc --data mnist --n 1000 --T 1,2,3,4 --activity-out sd8.json
    snnc estimate sd8.snnc --activity sd8.json           (SOP99 row: the T reaching 99% of the ANN)

Prints (1) accuracy vs activation bits B = 2..8 at T = 1..4 (sigma-delta), with
the B-bit quantised ANN (the executor on the compiled graph) it must equal, and
(2) one table comparing binary IF and 8-bit sigma-delta on loihi2 at the first
T where each reaches 99% of the ANN's accuracy: accuracy, T, SOPs / graded ops,
energy, latency, FPS/W (nominal, with the low - high range of the profile's
constants). IF charges its first-layer MACs every step (direct coding on chip,
``per-step``) and, in a second row, once (``once``, host-computed input);
sigma-delta's delta-encoded input is sent once.
"""
from __future__ import annotations

import argparse
import json
import logging

import numpy as np

IF_T = (1, 2, 4, 8, 16, 32, 64, 128)
SD_T = (1, 2, 3, 4)


def _at99(art, act, cost=None) -> dict:
    import snnc
    r = snnc.estimate(art, "loihi2", activity=act, input_cost=cost)
    v = r["at_accuracy"].get("99", {})
    if not v.get("sop") and v.get("sop") != 0:
        return {"reached": False, "best": v.get("best")}
    return {"reached": True, "T": v["T"], "accuracy": v["accuracy"], "ops": v["sop"],
            "energy_j": v["energy_j"], "latency_s": v["latency_s"], "fps_per_watt": v["fps_per_watt"],
            "payload_bits": r["counts"].get("payload_bits", 1)}


def run(n: int, bits) -> dict:
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    from snnc.compiler.execute import predict
    model = str(example_model_path())
    test = load_data("mnist:test", n=n)
    logging.getLogger("snnc").setLevel(logging.ERROR)
    out = {"n": n, "bits": {}, "compare": {}}
    art_if = snnc.compile(model, "mnist")
    ann = float(np.mean(predict(art_if.ann, test.x).argmax(1) == test.y))
    out["ann_accuracy"] = ann
    res = snnc.simulate(art_if, test.x, T=IF_T, y=test.y, show_progress=False)
    res.activity.ann_accuracy = ann
    out["if_accuracy"] = res.accuracy
    out["compare"]["binary IF (input per-step)"] = _at99(art_if, res.activity)
    out["compare"]["binary IF (input once)"] = _at99(art_if, res.activity, "once")
    for b in bits:
        art = snnc.compile(model, "mnist", neuron="sigma-delta", act_bits=b)
        r = snnc.simulate(art, test.x, T=SD_T, y=test.y, show_progress=False)
        logits_q = predict(art.snn, test.x)           # the B-bit quantised ANN (the executor)
        q = float(np.mean(logits_q.argmax(1) == test.y))
        out["bits"][b] = {"quantised_ann": q, "accuracy": r.accuracy, "graded_ops": r.activity.sop,
                          "graded_spikes": sum(sum(l.spikes_per_step) for l in r.activity.layers),
                          "logits_equal_quantised_ann": all(np.array_equal(r.logits[t], logits_q) for t in SD_T)}
        if b == max(bits):
            r.activity.ann_accuracy = ann
            out["compare"][f"sigma-delta {b}-bit"] = _at99(art, r.activity)
    return out


def _fmt(v, unit=""):
    for f, p in ((1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1, "")):
        if unit and abs(v) < f * 1000:
            return f"{v / f:.3g} {p}{unit}"
    return f"{v:,.0f}"


def report(o: dict) -> str:
    lines = [f"example model on {o['n']} MNIST test images; ANN {100 * o['ann_accuracy']:.2f}%", "",
             "sigma-delta accuracy vs activation bits (T = 1..4; T = 1 already equals the B-bit quantised ANN)",
             "B  quantised ANN  " + "  ".join(f"T={t:<5}" for t in SD_T) + "  graded spikes/img  graded ops/img"]
    for b, v in o["bits"].items():
        lines.append(f"{b:<2} {100 * v['quantised_ann']:>12.2f}%  "
                     + "  ".join(f"{100 * v['accuracy'][t]:6.2f}%" for t in SD_T)
                     + f"  {v['graded_spikes']:>17,.0f}  {v['graded_ops']:>14,.0f}"
                     + ("" if v["logits_equal_quantised_ann"] else "  (logits differ from the quantised ANN!)"))
    lines += ["", "binary IF accuracy vs T: " + ", ".join(f"T={t} {100 * a:.2f}%" for t, a in o["if_accuracy"].items()),
              "", "at the first T reaching 99% of the ANN (loihi2, nominal [low - high]):",
              f"{'network':<28} {'T':>4} {'accuracy':>9} {'SOPs / graded ops':>18} {'energy':>28} "
              f"{'latency':>10} {'FPS/W':>24}"]
    for k, v in o["compare"].items():
        if not v["reached"]:
            lines.append(f"{k:<28} not reached (best {v['best']})")
            continue
        e, f = v["energy_j"], v["fps_per_watt"]
        lines.append(f"{k:<28} {v['T']:>4} {100 * v['accuracy']:>8.2f}% {v['ops']:>18,.0f} "
                     f"{_fmt(e['nominal'], 'J'):>9} [{_fmt(e['low'], 'J')} - {_fmt(e['high'], 'J')}] "
                     f"{_fmt(v['latency_s']['nominal'], 's'):>10} {f['nominal']:>8,.0f} [{f['low']:,.0f} - {f['high']:,.0f}]")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--bits", default="2,3,4,5,6,7,8")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    o = run(a.n, [int(b) for b in a.bits.split(",")])
    print(json.dumps(o, indent=1, default=str) if a.json else report(o))


if __name__ == "__main__":
    main()
