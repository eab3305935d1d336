"""The fine-tuned network as an ordinary artifact.

The trained parameters go back into the SNN graph (``SpikingNet.to_graph``):
thresholds stay folded (1, v(0) = 0.5; SNN2ANN's threshold adjustment was
applied as the equivalent input rescaling), so ``snnc simulate``, ``run``,
``export`` and ``estimate`` take the result unchanged. The meta keeps the
conversion's records (source, options, calibration, pool modes,
preprocessing) and updates what training changed:

* ``readout``: an ``auto`` window is re-estimated (Eq. 19's t0 from the tuned
  network's activations on training samples, ``layer_statistics``); a fixed
  delay is kept;
* ``resources``: re-mapped (the weights, hence their quantisation error,
  changed);
* ``finetune``: the provenance: method and its paper parameters, T, epochs
  asked and run, data and split sizes, seed, optimiser, learning rate, batch
  size, teacher, history (loss, accuracies per epoch), best epoch, training
  seconds;
* ``pass_log``: one more line saying what was fine-tuned.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.analysis.resources import summary as resource_summary
from snnc.compiler.artifact import Artifact
from snnc.compiler.calibrate.stats import layer_statistics
from snnc.compiler.ir import Graph


def tuned_artifact(art: Artifact, graph: Graph, x_stats: np.ndarray, record: dict) -> Artifact:
    graph = graph.verify()
    meta = dict(art.meta)
    readout = dict(meta.get("readout") or {"mode": "auto", "t0": 0.0})
    stats = layer_statistics(graph, x_stats)
    if readout.get("mode") == "auto":
        record = {**record, "readout_t0_before": float(readout.get("t0", 0.0)), "readout_t0": stats["t0"]}
        readout["t0"] = stats["t0"]
    meta["readout"] = readout
    meta["finetune"] = record
    meta["pass_log"] = list(meta.get("pass_log", [])) + [
        f"finetune: {record['method']} at T={record['T']} for {record['epochs_run']} epoch(s) on "
        f"{record['data']['train']} ({record['data']['train_samples']} samples); validation accuracy "
        f"{100 * record['valid_accuracy']:.2f}% (epoch {record['kept_epoch']}, converted: "
        f"{100 * record['valid_accuracy_converted']:.2f}%)"]
    meta["resources"] = resource_summary(graph, meta.get("target", "loihi2"))
    return Artifact(graph, art.ann, meta)
