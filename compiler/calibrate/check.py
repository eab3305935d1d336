"""Measured clipping: the calibrated clip-ANN against the ANN on data the thresholds were not fitted on.

The check set is the ``--val`` data when given, else a slice held back from
the calibration data (``holdout``: min(1000, N // 10) samples drawn with a
fixed seed, when N >= ``MIN_HOLDOUT_N``; smaller sets are checked on
themselves, and the record says so). On it:

* ``agreement`` = fraction of samples where argmax clip-ANN = argmax ANN;
* ``ann_accuracy`` / ``clip_accuracy`` when labels exist;
* per layer, ``clipped`` = fraction of the layer's elements with
  ReLU(z) > theta (z under the clip-ANN, so upstream clipping is included).

The ANN is the graph before calibration (IFNeuron thresholds = the activation's
own cap: +inf for ReLU, a for Clip(0, a) / ReLU6), the clip-ANN the same graph
with the calibrated thresholds: both run by the ANN executor, from the
unfolded graph (threshold folding is not involved).

Target (issue 17): argmax agreement >= ``AGREEMENT`` = 99.5%. Accuracy is
reported but not part of the target: on a 1000-sample slice 0.1 point is one
sample, so an accuracy rule would choose by noise, while the 0.5% agreement
bound (5 samples) catches a clipped network. A check that misses the target
names the layers that clip most (``worst_layers``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.calibrate.loop import MEMORY_BUDGET, open_graph, sample_bytes
from snnc.compiler.calibrate.stats import Statistics
from snnc.compiler.execute import runner
from snnc.compiler.ir import Graph

AGREEMENT = 0.995
MAX_HOLDOUT = 1000
MIN_HOLDOUT_N = 200
HOLDOUT_SEED = 1
CHECK_BATCH = 128


def check_batch(graph: Graph) -> int:
    """Samples per forward pass of the check: CHECK_BATCH, fewer when the memory budget asks (``loop``).

    128 as the calibration loop's groups (8 batches of 16): larger batches leave the CPU caches (on the
    suite networks a batch of 1000 ran the ANN pass 1.7-2.5x slower than 128), smaller ones add per-call
    overhead."""
    return max(1, min(CHECK_BATCH, MEMORY_BUDGET // max(1, sample_bytes(graph))))


def holdout(n: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(calibration indices, held-back indices or None when N < MIN_HOLDOUT_N)."""
    if n < MIN_HOLDOUT_N:
        return np.arange(n), None
    m = min(MAX_HOLDOUT, n // 10)
    perm = np.random.default_rng(HOLDOUT_SEED).permutation(n)
    return np.sort(perm[m:]), np.sort(perm[:m])


def ann_predictions(graph: Graph, x: np.ndarray) -> np.ndarray:
    """argmax of the ANN (the graph before calibration) on the check set."""
    out, fwd, b = graph.outputs[0], runner(graph), check_batch(graph)
    return np.concatenate([fwd(x[i:i + b])[out].reshape(len(x[i:i + b]), -1).argmax(1)
                           for i in range(0, len(x), b)])


def measure(graph: Graph, theta: dict, x: np.ndarray, ann_pred: np.ndarray, y: Optional[np.ndarray] = None,
            statistics: bool = False) -> dict:
    """The check record of thresholds ``theta`` on ``x`` (module docstring).

    With ``statistics``, the same forward pass also collects the per-layer
    statistics and t0 (``stats.Statistics``) into ``rec["statistics"]``.
    """
    open_g, caps = open_graph(graph)
    clipped = {name: 0 for name in caps}
    total = {name: 0 for name in caps}
    cut = {name: np.minimum(theta[name], caps[name]) for name in caps}
    stats = Statistics(open_g, cut) if statistics else None

    def hook(name, value):
        if name not in cut:
            return None
        t = cut[name].astype(np.float32).reshape((1, -1) + (1,) * (value.ndim - 2))
        clipped[name] += int(np.count_nonzero(value > t))
        total[name] += value.size
        return stats.add(name, value) if stats is not None else np.minimum(value, t)

    out, fwd, b = open_g.outputs[0], runner(open_g), check_batch(open_g)
    pred = np.concatenate([fwd(x[i:i + b], hook)[out].reshape(len(x[i:i + b]), -1).argmax(1)
                           for i in range(0, len(x), b)])
    rec = {"samples": int(len(x)), "agreement": float(np.mean(pred == ann_pred)),
           "ann_accuracy": None if y is None else float(np.mean(ann_pred == y)),
           "clip_accuracy": None if y is None else float(np.mean(pred == y)),
           "clipped": {name: clipped[name] / max(total[name], 1) for name in caps}}
    rec["meets_target"] = meets_target(rec)
    if stats is not None:
        rec["statistics"] = stats.summary()
    return rec


def meets_target(rec: dict) -> bool:
    return bool(rec["agreement"] >= AGREEMENT)


def worst_layers(rec: dict, k: int = 3) -> list:
    """The ``k`` layers with the largest clipped fraction (those clipping anything)."""
    ranked = sorted(rec["clipped"].items(), key=lambda kv: -kv[1])
    return [name for name, f in ranked[:k] if f > 0]


def describe_loss(rec: dict, data: str) -> str:
    """'disagrees with the ANN on 0.80% of <data> (accuracy 98.10% vs ANN 99.00%)'."""
    text = f"disagrees with the ANN on {100 * (1 - rec['agreement']):.2f}% of {data}"
    if rec["ann_accuracy"] is not None:
        text += f" (accuracy {100 * rec['clip_accuracy']:.2f}% vs ANN {100 * rec['ann_accuracy']:.2f}%)"
    return text
