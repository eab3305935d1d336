"""PNG plot of a calibration record: per neuron layer, the thresholds against the activation distribution.

For each layer (x axis, in graph order): the spread of its channel thresholds
(min-max bar, median dot) and the 50/99/99.9 percentiles and max of ReLU(z)
(markers), on a log scale (zeros left out); a second panel shows the expected firing rate.
matplotlib is imported lazily with the Agg backend.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union


def _pos(v: float) -> float:
    """Zero (dead channels, p50 of sparse layers) cannot sit on a log axis: leave it out."""
    return v if v > 0 else float("nan")


def plot_calibration(calibration: dict, path: Union[str, Path]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    layers = calibration["layers"]
    names = list(layers)
    xs = range(len(names))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(max(6, 0.6 * len(names) + 2), 6), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
    th = [layers[n]["threshold"] for n in names]
    ax.vlines(xs, [_pos(t["min"]) for t in th], [_pos(t["max"]) for t in th], lw=6, alpha=0.4,
              label="threshold range")
    ax.plot(xs, [_pos(t["median"]) for t in th], "o", label="threshold median")
    for key, marker in [("50", "_"), ("99", "x"), ("99.9", "+"), ("max", "^")]:
        ax.plot(xs, [_pos(layers[n]["activation_percentiles"][key]) for n in names], marker, ls="none",
                label=f"ReLU(z) {key if key == 'max' else 'p' + key}")
    ax.set_yscale("log")
    ax.set_ylabel("threshold / activation (log)")
    ax.grid(True, which="major", axis="y", alpha=0.3)
    ax.set_title(f"calibration: {calibration['method']}, {calibration['iters']} x batch {calibration['batch_size']}")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)
    ax2.bar(xs, [layers[n]["expected_rate"] for n in names])
    ax2.set_ylabel("expected rate")
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path
