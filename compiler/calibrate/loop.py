"""The calibration loop: batched forward passes of the clip-ANN, every layer updated in one pass.

The graph's IFNeuron layers are evaluated with threshold +inf (so the
executor yields r = ReLU(z)); the executor's ``hook`` then, in topological
order, updates the layer's thresholds from r with the chosen method and
returns clip(z, 0, min(theta, cap)), so every downstream layer sees the
output clipped under the threshold just updated (``cap``: the a of a Clip(0, a)).

Batch size B = min(``BATCH`` = 16, N, memory budget / per-sample peak), where
the per-sample peak is the largest node value or conv im2col buffer (float32)
and the budget ``MEMORY_BUDGET`` = 512 MiB. The number of iterations K the
stopping rule below needs hardly depends on B (each step is a mean over
B * H * W elements per channel; on the trained densenet and mobilenet K moved
by at most 5 % from B = 100 to B = 16), while the cost is K * B forwards:
B = 16 makes a calibration cost under one forward pass per sample on 9,000
MNIST images (B = 100: 3.3-5.2), with thresholds within 1.3 % of B = 100's
(the spread of B = 100 between seeds: 0.3 %; docs/benchmarks.md,
"Calibration on the trained suite").

Batches: the calibration set is read in epochs, each a permutation of the N
samples drawn from a fixed seed (``SEED``, epoch e uses default_rng((SEED, e))),
and batch k holds positions k*B .. k*B + B - 1 of that endless stream; so K
larger than N / B wraps around without bias (every sample is seen equally
often up to one epoch) and the result is deterministic.

Stopping (``iters=None``, the default): the thresholds are updated until they
stop moving. Layer l has converged at iteration k when the relative change of
its threshold vector over the last ``WINDOW`` batches is at most ``tol``:

    || theta_l(k) - theta_l(k - W) ||_2  <=  tol * || theta_l(k) ||_2     (W = WINDOW = 20, tol = TOL = 0.01)

and the loop stops at the first k where every layer has (an all-zero layer
counts as converged when it stays zero), or at the budget ``MAX_ITERS`` = 1000
batches (the paper's K on ImageNet), whichever comes first. The (c)ltb
iteration only grows theta towards max z, its step 2 E[(z - theta)+] shrinking
with the tail beyond theta, so the rule stops where one more window of batches
would raise the thresholds by less than 1%. ``iters=K`` runs exactly K batches
(convergence is still reported). Cost: K * B / N forward passes per
calibration sample (``forwards_per_sample``).

Engines: ``fit_numpy`` below runs one NumPy-executor pass per batch (the
reference; used without torch or with ``SNNC_ENGINE=numpy``); with torch,
``torch_loop.fit`` computes the same iteration on torch tensors, several
batches per forward pass (equal to float32 rounding; its docstring shows why).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from snnc.compiler.calibrate.methods import METHODS, PERCENTILE_METHODS, check_percentile, check_tol
from snnc.compiler.errors import CalibrationError, UsageError
from snnc.compiler.execute import engine_name, run
from snnc.compiler.ir import Conv2d, Graph, IFNeuron
from snnc.compiler.passes.base import replace_op, spec_of
from snnc.compiler.progress import progress


MEMORY_BUDGET = 512 * 2 ** 20
BATCH = 16
MAX_ITERS = 1000
TOL = 0.01
WINDOW = 20
SEED = 0


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
    """(K, B): explicit values, else the budget MAX_ITERS and the default batch size (module docstring)."""
    cap = max(1, MEMORY_BUDGET // per_sample) if per_sample else BATCH
    b = int(batch_size) if batch_size is not None else min(BATCH, n, cap)
    if b < 1:
        raise UsageError(f"batch_size must be >= 1, got {batch_size}")
    k = int(iters) if iters is not None else MAX_ITERS
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


@lru_cache(maxsize=4)
def _epoch(n: int, e: int) -> np.ndarray:
    return np.random.default_rng((SEED, e)).permutation(n)


def batch_indices(n: int, k: int, b: int) -> np.ndarray:
    """Indices of batch k: positions k*b .. k*b + b - 1 of the stream of per-epoch permutations (all when b >= n)."""
    if b >= n:
        return np.arange(n)
    parts, pos = [], k * b
    while pos < (k + 1) * b:
        e, off = divmod(pos, n)
        take = min((k + 1) * b - pos, n - off)
        parts.append(_epoch(n, e)[off:off + take])
        pos += take
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def batch(x: np.ndarray, k: int, b: int) -> np.ndarray:
    """Batch k of the calibration stream (see :func:`batch_indices`)."""
    return x if b >= len(x) else x[batch_indices(len(x), k, b)]


def clip_channels(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.minimum(r, theta.reshape((1, -1) + (1,) * (r.ndim - 2)).astype(np.float32))


@dataclass
class Convergence:
    """Per-layer stopping rule of the module docstring: ||theta(k) - theta(k - W)|| <= tol ||theta(k)||."""
    tol: float = TOL
    window: int = WINDOW
    history: list = field(default_factory=list)
    since: dict = field(default_factory=dict)   # layer -> first iteration of the current run below tol
    change: dict = field(default_factory=dict)  # layer -> last relative change over the window

    def update(self, k: int, theta: dict) -> bool:
        """Record thresholds after iteration k (0-based); True when every layer is below tol now."""
        self.history.append({n: t.copy() for n, t in theta.items()})
        if len(self.history) <= self.window:
            return False
        old = self.history.pop(0)
        for n, t in theta.items():
            d = t - old[n]
            norm, step = float(np.sqrt(np.dot(t, t))), float(np.sqrt(np.dot(d, d)))
            self.change[n] = step / norm if norm > 0 else (0.0 if step == 0 else np.inf)
            if self.change[n] <= self.tol:
                self.since.setdefault(n, k + 1)
            else:
                self.since.pop(n, None)
        return len(self.since) == len(theta)

    def record(self, names) -> dict:
        """{layer: {"converged", "at" (iterations), "change"}} for the calibration record."""
        return {n: {"converged": n in self.since, "at": self.since.get(n),
                    "change": None if n not in self.change else float(self.change[n])} for n in names}


@dataclass
class CalibrationRun:
    theta: dict            # {neuron name: (C,) float64}
    iters: int             # batches run
    batch_size: int
    converged: bool        # every layer below tol when the loop stopped
    layers: dict           # Convergence.record
    budget: int            # the iteration budget (MAX_ITERS or the explicit K)
    forwards_per_sample: float


def run_calibration(graph: Graph, x: np.ndarray, method: str = "cltb", iters: Optional[int] = None,
                    batch_size: Optional[int] = None, percentile: float = 99.9, tol: float = TOL,
                    max_iters: Optional[int] = None) -> CalibrationRun:
    """Calibrate until converged (``iters=None``; budget ``max_iters`` or MAX_ITERS) or for exactly ``iters``."""
    if method not in METHODS:
        raise UsageError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")
    if method in PERCENTILE_METHODS:
        check_percentile(percentile)
    check_tol(tol)
    budget, b = default_schedule(len(x), iters if iters is not None else max_iters, batch_size, sample_bytes(graph))
    open_g, caps = open_graph(graph)
    conv, state = Convergence(tol), {"done": False}

    def stop(k: int, theta: dict) -> bool:
        state["done"] = conv.update(k, theta)
        return state["done"] and iters is None
    if engine_name("fast") == "torch":
        from snnc.compiler.calibrate import torch_loop
        theta, n_run = torch_loop.fit(open_g, x, caps, method, percentile, budget, b, stop, sample_bytes(graph))
    else:
        theta, n_run = fit_numpy(open_g, x, caps, method, percentile, budget, b, stop)
    done = state["done"]
    return CalibrationRun({name: np.minimum(t, caps[name]) for name, t in theta.items()}, n_run, b, done,
                          conv.record(theta), budget, n_run * min(b, len(x)) / len(x))


def fit_numpy(open_g: Graph, x: np.ndarray, caps: dict, method: str, percentile: float, budget: int, b: int,
              stop) -> tuple[dict, int]:
    """(theta, batches run): the reference loop, one NumPy-executor pass per batch; ``stop(k, theta)`` after each."""
    theta = {name: np.zeros(len(cap)) for name, cap in caps.items()}
    hook = threshold_hook(theta, caps, METHODS[method], percentile)
    k = 0
    for k in progress(range(budget), desc=f"calibrate ({method})", unit="batch"):
        run(open_g, batch(x, k, b), hook=hook, engine="numpy")
        if stop(k, theta):
            break
    return theta, k + 1


def calibrate_thresholds(graph: Graph, x: np.ndarray, method: str = "cltb", iters: Optional[int] = None,
                         batch_size: Optional[int] = None, percentile: float = 99.9) -> tuple[dict, int, int]:
    """Calibrated thresholds {neuron name: (C,) float64}, and the (K, B) used (see :func:`run_calibration`)."""
    r = run_calibration(graph, x, method, iters, batch_size, percentile)
    return r.theta, r.iters, r.batch_size


def threshold_hook(theta: dict, caps: dict, update, percentile: float):
    """The executor hook of one calibration iteration; updates ``theta`` {layer: (C,)} in place.

    For an IFNeuron layer's value z (its r = ReLU(z) under threshold +inf): reject
    non-finite values (r >= 0, so max r is finite iff every r is: one reduction),
    theta <- update(theta, r), return clip(r, 0, min(theta, cap)), clipped in
    place (the neuron kernel's output is a fresh array).
    """
    def hook(name, value):
        if name not in theta:
            return None
        if not np.isfinite(value.max()):
            raise CalibrationError(f"pre-activations of {name!r} are not finite during calibration; "
                                   f"check the model weights and the input scaling")
        theta[name] = update(theta[name], value, percentile)
        cut = np.minimum(theta[name], caps[name]).astype(np.float32)
        return np.minimum(value, cut.reshape((1, -1) + (1,) * (value.ndim - 2)), out=value)
    return hook


def with_thresholds(graph: Graph, theta: dict) -> Graph:
    spec = [(name, replace_op(op, threshold=theta[name].astype(np.float32)) if name in theta else op, ins)
            for name, op, ins in spec_of(graph)]
    return Graph.build(spec, graph.outputs, graph.meta)
