"""The calibration loop: K batched forward passes of the clip-ANN, every layer updated in one pass.

The graph's IFNeuron layers are evaluated with threshold +inf (so the
executor yields r = ReLU(z)); the executor's ``hook`` then, in topological
order, updates the layer's thresholds from r with the chosen method and
returns clip(z, 0, min(theta, cap)), so every downstream layer sees the
output clipped under the threshold just updated (``cap``: the a of a Clip(0, a)).

Defaults: batch size B = min(100, N, memory budget / per-sample peak), where
the per-sample peak is the largest node value or conv im2col buffer (float32)
and the budget ``MEMORY_BUDGET`` = 512 MiB (ResNet-18 at 224x224: 7.4 MB per sample, B = 72;
MNIST: B = 100); K = ``DEFAULT_ITERS`` = 100 iterations whatever N (the paper
used K = 1000 batches of 100 on ImageNet; fewer iterations give lower
thresholds, which favour small T but clip more). Batch k holds samples
(k*B .. k*B + B - 1) mod N, so K may exceed one pass (the data wraps around)
and the result is deterministic. A small calibration set is revisited rather
than giving K = ceil(N / B) = 1: one cltb step leaves theta = 2 mean(ReLU(z)),
which clips deep networks far from the ANN.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.calibrate.methods import METHODS, PERCENTILE_METHODS
from snnc.compiler.errors import CalibrationError, UsageError
from snnc.compiler.execute import run
from snnc.compiler.ir import Conv2d, Graph, IFNeuron
from snnc.compiler.passes.base import replace_op, spec_of
from snnc.compiler.progress import progress


MEMORY_BUDGET = 512 * 2 ** 20
DEFAULT_ITERS = 100


def sample_bytes(graph: Graph) -> int:
    """Largest float32 buffer one sample needs in the executor: a node's value or a conv's im2col matrix."""
    peak = 0
    for n in graph.nodes:
        size = int(np.prod(n.shape))
        if isinstance(n.op, Conv2d):
            size = max(size, int(np.prod(n.shape[1:])) * int(np.prod(n.op.weight.shape[1:])) * n.op.groups)
        peak = max(peak, size)
    return 4 * peak


def default_schedule(n: int, iters: Optional[int], batch_size: Optional[int],
                     per_sample: int = 0) -> tuple[int, int]:
    """(K, B): explicit values, else the defaults in the module docstring."""
    cap = max(1, MEMORY_BUDGET // per_sample) if per_sample else 100
    b = int(batch_size) if batch_size is not None else min(100, n, cap)
    if b < 1:
        raise UsageError(f"batch_size must be >= 1, got {batch_size}")
    k = int(iters) if iters is not None else DEFAULT_ITERS
    if k < 1:
        raise UsageError(f"iters must be >= 1, got {iters}")
    return k, b


def open_graph(graph: Graph) -> tuple[Graph, dict]:
    """The graph with every IFNeuron threshold at +inf, and each layer's cap."""
    caps, spec = {}, []
    for name, op, ins in spec_of(graph):
        if isinstance(op, IFNeuron):
            caps[name] = op.threshold.astype(np.float64)
            op = replace_op(op, threshold=np.full(op.threshold.shape, np.inf, np.float32))
        spec.append((name, op, ins))
    return Graph.build(spec, graph.outputs, graph.meta), caps


def batch(x: np.ndarray, k: int, b: int) -> np.ndarray:
    """Batch k: samples (k*b .. k*b + b - 1) mod N (the whole set when b >= N)."""
    n = len(x)
    if b >= n:
        return x
    start = (k * b) % n
    if start + b <= n:
        return x[start:start + b]
    return np.concatenate([x[start:], x[:start + b - n]])


def clip_channels(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.minimum(r, theta.reshape((1, -1) + (1,) * (r.ndim - 2)).astype(np.float32))


def calibrate_thresholds(graph: Graph, x: np.ndarray, method: str = "cltb", iters: Optional[int] = None,
                         batch_size: Optional[int] = None, percentile: float = 99.9) -> tuple[dict, int, int]:
    """Calibrated thresholds {neuron name: (C,) float64}, and the (K, B) used."""
    if method not in METHODS:
        raise UsageError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")
    if method in PERCENTILE_METHODS and not 0.0 < float(percentile) <= 100.0:
        raise UsageError(f"percentile must be in (0, 100], got {percentile}")
    k_iters, b = default_schedule(len(x), iters, batch_size, sample_bytes(graph))
    open_g, caps = open_graph(graph)
    theta = {name: np.zeros(len(cap)) for name, cap in caps.items()}
    hook = threshold_hook(theta, caps, METHODS[method], percentile)
    for k in progress(range(k_iters), desc=f"calibrate ({method})", unit="batch"):
        run(open_g, batch(x, k, b), hook=hook)
    return {name: np.minimum(t, caps[name]) for name, t in theta.items()}, k_iters, b


def threshold_hook(theta: dict, caps: dict, update, percentile: float):
    """The executor hook of one calibration iteration; updates ``theta`` {layer: (C,)} in place.

    For an IFNeuron layer's value z (its r = ReLU(z) under threshold +inf): reject
    non-finite values, theta <- update(theta, r), return clip(r, 0, min(theta, cap)).
    """
    def hook(name, value):
        if name not in theta:
            return None
        if not np.all(np.isfinite(value)):
            raise CalibrationError(f"pre-activations of {name!r} are not finite during calibration; "
                                   f"check the model weights and the input scaling")
        theta[name] = update(theta[name], value, percentile)
        return clip_channels(value, np.minimum(theta[name], caps[name]))
    return hook


def with_thresholds(graph: Graph, theta: dict) -> Graph:
    spec = [(name, replace_op(op, threshold=theta[name].astype(np.float32)) if name in theta else op, ins)
            for name, op, ins in spec_of(graph)]
    return Graph.build(spec, graph.outputs, graph.meta)
