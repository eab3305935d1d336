"""Accuracy vs T before / after fine-tuning on the trained suite: one panel per network, from a JSON of figures.

    python -m benchmarks.plot_finetune_suite docs/finetune_suite.json docs/finetune_suite.png

The JSON holds what ``snnc simulate --n 500 --T 2,4,8 --json`` measured for the
converted network and for each method's fine-tuned one (docs/benchmarks.md,
"The trained suite at T = 4", gives the commands)::

    {"T": [2, 4, 8], "n": 500,
     "nets": {"vgg": {"ann": 99.6, "converted": [99.0, 98.2, 99.4], "pipe-s": [...], ...}, ...}}

Accuracies in %; ``"<method>_note"`` (e.g. ``"--lr 1e-4"``) is added to that line's label.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

METHODS = ("pipe-s", "idsnn", "snn2ann")
STYLE = {"pipe-s": "-o", "idsnn": "-s", "snn2ann": "-^"}


def plot(data: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ts, nets = data["T"], data["nets"]
    fig, axes = plt.subplots(1, len(nets), figsize=(3.2 * len(nets), 3.4), sharey=False)
    for ax, (name, d) in zip(list(axes) if len(nets) > 1 else [axes], nets.items()):
        ax.plot(ts, d["converted"], "k--o", label="converted")
        for m in METHODS:
            if m in d:
                note = f" ({d[f'{m}_note']})" if f"{m}_note" in d else ""
                ax.plot(ts, d[m], STYLE[m], label=f"{m}{note}")
        ax.axhline(d["ann"], color="grey", lw=1, label=f"ANN {d['ann']:.1f}%")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ts, [str(t) for t in ts])
        ax.set_title(name)
        ax.set_xlabel("time steps T")
        ax.legend(fontsize=6)
    axes[0].set_ylabel(f"MNIST test accuracy (%), first {data.get('n', '?')} images")
    fig.suptitle("trained suite: accuracy vs T before / after fine-tuning at T = 4", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__)
        return 2
    plot(json.loads(Path(argv[0]).read_text()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
