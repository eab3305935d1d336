"""The clip-ANN of an artifact, computed from its *unfolded* source graph: an independent reference.

The clip-ANN is the source ANN with every activation clipped at its calibrated
per-channel threshold, y = min(act(z), theta) (algorithms.md section 5). The
artifact's folded SNN graph, run by the ANN executor, computes the same
function when threshold folding is right; computing the clip-ANN from
``art.ann`` and the thresholds recorded in ``meta["calibration"]["layers"]``
instead keeps a folding bug visible (``snnc simulate`` reports both and how
often their predictions agree).

Each calibrated neuron layer keeps the name of the activation node it
replaced (``insert_neurons``), so the thresholds apply to that node's output
(after a ReLU or Clip(0, a), whose value is already >= 0); max pools moved
before neurons commute with the per-channel clip.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import ModelLoadError
from snnc.compiler.execute import run

_BATCH = 256


def has_reference(art) -> bool:
    """True when the artifact records calibrated thresholds (every `snnc compile` artifact; not hand-built
    ones) and its folded weights are still the source graph's (not after `snnc finetune`, which trains them:
    the source ANN is then the pre-training network, not a reference for the tuned one)."""
    return bool((art.meta.get("calibration") or {}).get("layers")) and "finetune" not in art.meta


def reference_thresholds(art) -> dict:
    """{activation node name: (C,) float32 thresholds} from the artifact's calibration record."""
    if not has_reference(art):
        raise ModelLoadError("the artifact has no calibration record (meta['calibration']['layers']) or was "
                             "fine-tuned, so its clip-ANN cannot be computed from the source graph")
    layers = art.meta["calibration"]["layers"]
    th = {name: np.asarray(s["thresholds"], np.float32) for name, s in layers.items()}
    missing = [name for name in th if name not in art.ann]
    if missing:
        raise ModelLoadError(f"the artifact's calibrated layers {', '.join(missing)} are not nodes of its source "
                             f"graph; recompile it with this snnc version")
    return th


def clip_ann_outputs(art, x: np.ndarray) -> np.ndarray:
    """The source ANN's output with every calibrated activation clipped at its thresholds."""
    th = reference_thresholds(art)

    def hook(name, value):
        if name in th:
            return np.minimum(value, th[name].reshape((1, -1) + (1,) * (value.ndim - 2)))
        return None

    out = art.ann.outputs[0]
    return np.concatenate([run(art.ann, x[i:i + _BATCH], hook=hook)[out] for i in range(0, len(x), _BATCH)])
