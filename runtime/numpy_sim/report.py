"""Accuracy-vs-T sweep summaries and plots from one :class:`SimResult`.

For every T the sweep row holds accuracy, agreement with the ANN's predictions,
SOPs per image and the mean firing rate over the first T steps (taken from the
per-step activity of the largest T: the first T steps of a longer run are
exactly a run of T steps; only the readout window differs, and it is computed
per T).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.runtime.numpy_sim.simulate import SimResult


def sweep_rows(res: SimResult, ann_pred: Optional[np.ndarray] = None) -> list[dict]:
    act = res.activity
    neurons = sum(l.neurons for l in act.layers)
    rows = []
    for T in res.T:
        spikes = sum(sum(l.spikes_per_step[:T]) for l in act.layers)
        row = {"T": T, "delay": res.delays[T],
               "accuracy": res.accuracy.get(T),
               "agreement": float(np.mean(res.predictions(T) == ann_pred)) if ann_pred is not None else None,
               "sop_per_image": float(sum(sum(l.sop_per_step[:T]) for l in act.layers)),
               "spikes_per_image": float(spikes),
               "firing_rate": spikes / (neurons * T) if neurons else 0.0}
        rows.append(row)
    return rows


def layer_rates(res: SimResult) -> list[dict]:
    return [{"layer": l.name, "neurons": l.neurons, "firing_rate": l.firing_rate,
             "sop_per_image": float(sum(l.sop_per_step))} for l in res.activity.layers]


def plot_sweep(rows: list[dict], layers: list[dict], path, ann_acc=None, clip_acc=None, title="") -> None:
    """Accuracy vs T (with ANN and clip-ANN lines) and firing rate per layer, as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    Ts = [r["T"] for r in rows]
    if any(r["accuracy"] is not None for r in rows):
        a.plot(Ts, [100 * (r["accuracy"] or 0) for r in rows], "o-", label="SNN (simulated)")
        if ann_acc is not None:
            a.axhline(100 * ann_acc, color="k", ls="--", label=f"ANN {100 * ann_acc:.2f}%")
        if clip_acc is not None:
            a.axhline(100 * clip_acc, color="C2", ls=":", label=f"clip-ANN {100 * clip_acc:.2f}%")
        a.set_ylabel("accuracy (%)")
    else:
        a.plot(Ts, [100 * (r["agreement"] or 0) for r in rows], "o-", label="agreement with ANN")
        a.set_ylabel("agreement with ANN (%)")
    a.set_xscale("log", base=2)
    a.set_xticks(Ts, [str(t) for t in Ts])
    a.set_xlabel("time steps T")
    a.grid(alpha=0.3)
    a.legend()
    b.bar(range(len(layers)), [l["firing_rate"] for l in layers])
    b.set_xticks(range(len(layers)), [l["layer"] for l in layers], rotation=60, ha="right", fontsize=7)
    b.set_ylabel("firing rate (spikes/neuron/step)")
    b.set_title(f"firing rate per layer, T={rows[-1]['T']}", fontsize=10)
    b.grid(alpha=0.3, axis="y")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def payload_plot_path(path) -> str:
    """Where ``snnc simulate --plot X.png`` writes the sigma-delta payload histogram: X_payload.png."""
    p = str(path)
    return (p[:-4] if p.lower().endswith(".png") else p) + "_payload.png"


def plot_payload(hist: dict, path, title="") -> None:
    """Histogram of graded-spike payload magnitudes |s| per sigma-delta layer (log counts), as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, a = plt.subplots(figsize=(7, 4))
    for name, counts in hist.items():
        v = np.arange(1, len(counts) + 1)
        nz = np.asarray(counts) > 0
        a.step(v[nz], np.asarray(counts)[nz], where="mid", label=name)
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    a.set_xlabel("payload |q(t) - q(t-1)| (steps)")
    a.set_ylabel("graded spikes")
    a.set_title(f"graded-spike payloads {title}", fontsize=10)
    a.grid(alpha=0.3)
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
