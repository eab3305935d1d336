"""Binary IF vs sigma-delta (graded spikes): accuracy vs T and bits, energy at 99% of the ANN.

    python -m benchmarks.bench_sigma_delta [--n 1000] [--bits 2,3,4,5,6,7,8] [--json]      # the example model
    python -m benchmarks.bench_sigma_delta --suite [--n 500] [--nets vgg,resnet] [--json]  # the trained suite

The same figures as these commands (one compile and simulation per network)::

    snnc compile examples/mnist_cnn.onnx --calib mnist -o if.snnc
    snnc compile examples/mnist_cnn.onnx --calib mnist --neuron sigma-delta --act-bits 8 -o sd8.snnc
    snnc simulate sd8.snnc --data mnist --n 1000 --T 1,2,3,4 --activity-out sd8.json
    snnc estimate sd8.snnc --activity sd8.json           (SOP99 row: the T reaching 99% of the ANN)

(suite: ``examples/suite/NAME.onnx --calib mnist:valid``, test images from
mnist:test). Each network is calibrated once (the IF compile); its B-bit
sigma-delta networks are that compile's graph through the pipeline's own
``sigma_delta`` pass (``snnc.compiler.passes.sigma_delta``), which is what
``--neuron sigma-delta --act-bits B`` runs after the same calibration.

Prints per network (1) accuracy vs activation bits B at T = 1..4 (sigma-delta),
with the B-bit quantised ANN (the executor on the compiled graph) it must
equal, (2) the 8-bit network's accuracy at T = 1..8 and its pipeline depth
(sigma-delta layers on the longest input-output path, plus the readout: with
one step of delay per layer, as on Lava, the readout settles at t = depth; the
simulators evaluate the whole graph every step, as for IF, and settle at t = 1), and (3) one table comparing binary IF and
8-bit sigma-delta on loihi2 at the first T where each reaches 99% of the ANN's
accuracy: accuracy, T, SOPs / graded ops, energy, latency, FPS/W (nominal, with
the low - high range of the profile's constants). IF charges its first-layer
MACs every step (direct coding on chip, ``per-step``) and, in a second row,
once (``once``, host-computed input); sigma-delta's delta-encoded input is
sent once. NumPy reference simulator; seeded data (the first n images).
"""
from __future__ import annotations

import argparse
import json
import logging

import numpy as np

IF_T = (1, 2, 4, 8, 16, 32, 64, 128)
SUITE_IF_T = (1, 2, 4, 8, 16, 32, 64)
SD_T = (1, 2, 3, 4, 5, 6, 7, 8)
BITS_T = (1, 2, 3, 4)


def _at99(art, act, cost=None) -> dict:
    import snnc
    r = snnc.estimate(art, "loihi2", activity=act, input_cost=cost)
    v = r["at_accuracy"].get("99", {})
    if not v.get("sop") and v.get("sop") != 0:
        return {"reached": False, "best": v.get("best")}
    return {"reached": True, "T": v["T"], "accuracy": v["accuracy"], "ops": v["sop"],
            "energy_j": v["energy_j"], "latency_s": v["latency_s"], "fps_per_watt": v["fps_per_watt"],
            "payload_bits": r["counts"].get("payload_bits", 1)}


def sigma_delta_artifact(art_if, bits: int):
    """The B-bit sigma-delta network of an IF compile: its graph through the ``sigma_delta`` pass, the
    artifact's neuron record and options as ``snnc compile --neuron sigma-delta --act-bits B`` writes them."""
    from snnc.compiler.artifact import Artifact
    from snnc.compiler.compile import neuron_record
    from snnc.compiler.passes.sigma_delta import to_sigma_delta
    snn = to_sigma_delta(art_if.snn, "sigma-delta", bits).graph
    meta = dict(art_if.meta, neurons=neuron_record("sigma-delta", bits).to_json(),
                options=dict(art_if.meta["options"], neuron="sigma-delta", act_bits=bits))
    return Artifact(snn, art_if.ann, meta)


def depth(graph) -> int:
    """Pipeline depth: neuron layers on the longest input-output path plus the readout layer."""
    from snnc.compiler.ir import IFNeuron
    d = {}
    for n in graph.nodes:
        d[n.name] = max((d[s] for s in n.inputs), default=0) + isinstance(n.op, IFNeuron)
    return max(d[o] for o in graph.outputs) + 1


def run_network(model, calib, test, bits, if_T) -> dict:
    """Every figure of one network: ANN, IF vs T, sigma-delta vs bits and vs T, the 99% comparison."""
    import snnc
    from snnc.compiler.execute import predict
    art_if = snnc.compile(model, calib)
    ann = float(np.mean(predict(art_if.ann, test.x).argmax(1) == test.y))
    out = {"ann_accuracy": ann, "bits": {}, "compare": {}}
    res = snnc.simulate(art_if, test.x, T=if_T, y=test.y, show_progress=False)
    res.activity.ann_accuracy = ann
    out["if_accuracy"] = res.accuracy
    out["compare"]["binary IF (input per-step)"] = _at99(art_if, res.activity)
    out["compare"]["binary IF (input once)"] = _at99(art_if, res.activity, "once")
    for b in sorted(bits):
        art = sigma_delta_artifact(art_if, b)
        Ts = SD_T if b == max(bits) else BITS_T
        r = snnc.simulate(art, test.x, T=Ts, y=test.y, show_progress=False)
        logits_q = predict(art.snn, test.x)           # the B-bit quantised ANN (the executor)
        q = float(np.mean(logits_q.argmax(1) == test.y))
        out["bits"][b] = {"quantised_ann": q, "accuracy": r.accuracy, "graded_ops": r.activity.sop,
                          "graded_spikes": sum(sum(l.spikes_per_step) for l in r.activity.layers),
                          "logits_equal_quantised_ann": all(np.array_equal(r.logits[t], logits_q) for t in Ts)}
        if b == max(bits):
            out["depth"] = depth(art.snn)
            r.activity.ann_accuracy = ann
            out["compare"][f"sigma-delta {b}-bit"] = _at99(art, r.activity)
    return out


def run(n: int, bits) -> dict:
    from snnc.compiler.data import example_model_path, load_data
    logging.getLogger("snnc").setLevel(logging.ERROR)
    o = run_network(str(example_model_path()), "mnist", load_data("mnist:test", n=n), bits, IF_T)
    return {"n": n, **o}


def run_suite(n: int, bits, nets) -> dict:
    from benchmarks.suite import onnx_path
    from snnc.compiler.data import load_data
    logging.getLogger("snnc").setLevel(logging.ERROR)
    calib, test = load_data("mnist:valid", n=1000).x, load_data("mnist:test", n=n)
    return {"n": n, "nets": {k: run_network(str(onnx_path(k)), calib, test, bits, SUITE_IF_T) for k in nets}}


def _fmt(v, unit=""):
    for f, p in ((1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1, "")):
        if unit and abs(v) < f * 1000:
            return f"{v / f:.3g} {p}{unit}"
    return f"{v:,.0f}"


def _compare_rows(compare: dict, name: str = "") -> list:
    rows = []
    for k, v in compare.items():
        label = f"{name} {k}".strip()
        if not v["reached"]:
            rows.append(f"{label:<38} not reached (best {v['best']})")
            continue
        e, f = v["energy_j"], v["fps_per_watt"]
        rows.append(f"{label:<38} {v['T']:>4} {100 * v['accuracy']:>8.2f}% {v['ops']:>18,.0f} "
                    f"{_fmt(e['nominal'], 'J'):>9} [{_fmt(e['low'], 'J')} - {_fmt(e['high'], 'J')}] "
                    f"{_fmt(v['latency_s']['nominal'], 's'):>10} {f['nominal']:>8,.0f} "
                    f"[{f['low']:,.0f} - {f['high']:,.0f}]")
    return rows


COMPARE_HEAD = (f"{'network':<38} {'T':>4} {'accuracy':>9} {'SOPs / graded ops':>18} {'energy':>28} "
                f"{'latency':>10} {'FPS/W':>24}")


def report(o: dict, title: str = "example model") -> str:
    top = max(o["bits"])
    lines = [f"{title} on {o['n']} MNIST test images; ANN {100 * o['ann_accuracy']:.2f}%; "
             f"pipeline depth {o['depth']} (Lava settles at t = depth)", "",
             f"sigma-delta accuracy vs activation bits (T = 1..4; T = 1 already equals the B-bit quantised ANN)",
             "B  quantised ANN  " + "  ".join(f"T={t:<5}" for t in BITS_T) + "  graded spikes/img  graded ops/img"]
    for b, v in o["bits"].items():
        lines.append(f"{b:<2} {100 * v['quantised_ann']:>12.2f}%  "
                     + "  ".join(f"{100 * v['accuracy'][t]:6.2f}%" for t in BITS_T)
                     + f"  {v['graded_spikes']:>17,.0f}  {v['graded_ops']:>14,.0f}"
                     + ("" if v["logits_equal_quantised_ann"] else "  (logits differ from the quantised ANN!)"))
    lines += ["", f"sigma-delta {top}-bit accuracy vs T: "
              + ", ".join(f"T={t} {100 * a:.2f}%" for t, a in o["bits"][top]["accuracy"].items()),
              "binary IF accuracy vs T: " + ", ".join(f"T={t} {100 * a:.2f}%" for t, a in o["if_accuracy"].items()),
              "", "at the first T reaching 99% of the ANN (loihi2, nominal [low - high]):", COMPARE_HEAD]
    return "\n".join(lines + _compare_rows(o["compare"]))


def _stays(acc: dict, target: float) -> str:
    """The first T from which every larger T of the sweep stays at or above ``target`` ("-": never)."""
    Ts = sorted(acc)
    ok = [t for i, t in enumerate(Ts) if all(acc[u] >= target for u in Ts[i:])]
    return str(ok[0]) if ok else "-"


def report_suite(o: dict) -> str:
    """Per network, then one summary table (ANN, 8-bit sigma-delta at T=1..4, depth, T99 of each kind)."""
    parts = [report({**v, "n": o["n"]}, k) for k, v in o["nets"].items()]
    head = ("network    ANN      SD8 T=1  SD8 T=4  of ANN  depth  T99 SD8  T99 IF  IF stays from  "
            "FPS/W SD8 / IF (per-step)")
    rows = [head]
    for k, v in o["nets"].items():
        top = max(v["bits"])
        sd, c = v["bits"][top]["accuracy"], v["compare"]
        s8, i8 = c[f"sigma-delta {top}-bit"], c["binary IF (input per-step)"]
        t = lambda r: str(r["T"]) if r["reached"] else "-"
        ratio = (f"{s8['fps_per_watt']['nominal'] / i8['fps_per_watt']['nominal']:.1f}x"
                 if s8["reached"] and i8["reached"] else "-")
        rows.append(f"{k:<10} {100 * v['ann_accuracy']:6.2f}%  {100 * sd[1]:6.2f}%  {100 * sd[4]:6.2f}%  "
                    f"{sd[4] / v['ann_accuracy']:6.3f}  {v['depth']:>5}  {t(s8):>7}  {t(i8):>6}  "
                    f"{_stays(v['if_accuracy'], 0.99 * v['ann_accuracy']):>13}  {ratio}")
    return "\n\n".join(parts + ["\n".join(rows)])


def _int_keys(o):
    """JSON's string keys "1", "8" back to the ints (T, bits) they were."""
    if isinstance(o, dict):
        return {int(k) if isinstance(k, str) and k.isdigit() else k: _int_keys(v) for k, v in o.items()}
    return o


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="test images (default 1000; 500 with --suite)")
    p.add_argument("--bits", default="2,3,4,5,6,7,8")
    p.add_argument("--suite", action="store_true", help="the trained suite (examples/suite) instead of the example")
    p.add_argument("--nets", default="vgg,resnet,mobilenet,densenet", help="suite networks (with --suite)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--report", default=None, help="print the tables of a saved --json output instead of running")
    a = p.parse_args(argv)
    bits = [int(b) for b in a.bits.split(",")]
    if a.report:
        with open(a.report) as f:
            o = _int_keys(json.load(f))
        print(report_suite(o) if "nets" in o else report(o))
    elif a.suite:
        o = run_suite(a.n or 500, bits, a.nets.split(","))
        print(json.dumps(o, indent=1, default=str) if a.json else report_suite(o))
    else:
        o = run(a.n or 1000, bits)
        print(json.dumps(o, indent=1, default=str) if a.json else report(o))


if __name__ == "__main__":
    main()
