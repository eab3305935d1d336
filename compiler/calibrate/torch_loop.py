"""The calibration loop in torch (when installed): the same iteration as ``loop``, fewer and larger calls.

``loop.run_calibration`` runs the iteration of its docstring batch by batch
through the NumPy executor (the reference, and the path without torch or
with ``SNNC_ENGINE=numpy``). This module computes the same thresholds with
the whole open graph as one torch program (``execute.torch_graph``) and the
threshold updates on torch tensors, and evaluates ``GROUP`` consecutive
batches k0 .. k0 + G - 1 in one forward pass (a group of G * B samples):

* every op but the neuron layers is applied per sample, so running it once on
  the group's G * B samples gives each batch's rows exactly as G separate
  calls would (up to the float32 summation order of the convolution);
* at each neuron layer the hook updates theta_l batch by batch in the
  group's order: theta_l(k) = update(theta_l(k - 1), r_l(k)), then clips
  batch k's rows at min(theta_l(k), cap), in place, before any later layer
  reads them.

So batch k's rows at layer l see every upstream layer clipped under its
threshold after batch k, and theta_l(k) is the sequential loop's theta_l(k):
the iteration and its stopping rule are unchanged, only the calls are G
times fewer. The thresholds after every batch are kept, so convergence is
tested after each k as in ``loop``; when the loop stops at k inside a group
the result is theta(k), and the group's later batches (at most G - 1) are
wasted work. The updates: cltb / ltb / max on tensors with ``methods``'
float32 / float64 arithmetic (per-sample map sums in float32, the batch sum and
theta in float64); percentile / cpercentile on zero-copy array views with
``methods``' own functions. Results agree with the NumPy path to float32
rounding (tests/compiler/test_calibration_torch.py derives the bound).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.compiler.calibrate.loop import MEMORY_BUDGET, batch_indices
from snnc.compiler.calibrate.methods import ETA, METHODS
from snnc.compiler.progress import progress

GROUP = 8


def _view(t, ndim: int):
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _excess(theta32, r):
    """Per channel, sum over the batch of (r - theta)+, (C,) float64: ``methods._excess_sums`` (each sample's
    map summed in float32, the samples in float64)."""
    import torch
    e = torch.sub(r, theta32).relu_()
    if e.ndim > 2:
        e = e.sum(dim=tuple(range(2, e.ndim)))
    return e.sum(0, dtype=torch.float64)


def update_cltb(theta, r, p: float, theta32):
    return theta.add(_excess(theta32, r), alpha=ETA * 2.0 / (r.numel() // r.shape[1]))


def update_ltb(theta, r, p: float, theta32):
    import torch
    t = theta[0]
    return torch.full_like(theta, float(t + ETA * 2.0 * _excess(theta32[:, :1], r).sum() / r.numel()))


def update_max(theta, r, p: float, theta32):
    import torch
    return torch.maximum(theta, r.max().to(torch.float64))


def _numpy_update(method: str) -> Callable:
    import torch
    fn = METHODS[method]
    return lambda theta, r, p, theta32: torch.from_numpy(np.asarray(fn(theta.numpy(), r.numpy(), p), np.float64))


TORCH_UPDATES = {"cltb": update_cltb, "ltb": update_ltb, "max": update_max}


def fit(open_g, x: np.ndarray, caps: dict, method: str, percentile: float, budget: int, b: int,
        stop: Callable[[int, dict], bool], per_sample: int) -> tuple[dict, int]:
    """(theta {layer: (C,) float64 array}, batches run): the loop of ``loop.run_calibration`` in groups.

    ``stop(k, theta)`` is called after every batch k with its thresholds (the convergence test); True ends
    the loop there.
    """
    import torch
    from snnc.compiler.execute.torch_graph import TorchGraph
    tg = TorchGraph(open_g, inplace=True)
    update = TORCH_UPDATES.get(method) or _numpy_update(method)
    cap_t = {n: torch.from_numpy(np.asarray(c, np.float64)) for n, c in caps.items()}
    theta = {n: torch.zeros(len(c), dtype=torch.float64) for n, c in caps.items()}
    n = len(x)
    rows = min(b, n)
    g_max = max(1, min(GROUP, MEMORY_BUDGET // max(1, per_sample * rows)))
    snaps: list = []

    th32 = {}   # layer -> theta as float32 (1, C, 1, ...), the value the update subtracts
    relu = {n: bool(torch.isinf(c).all()) for n, c in cap_t.items()}

    def hook(name, v):
        """Batch by batch: theta(j) from batch j's rows (unclipped at this layer); then all rows clipped at once,
        batch j's at min(theta(j), cap) (batch j + 1's update reads only its own rows, so the order holds)."""
        if name not in theta:
            return None
        cuts = []
        for j in range(len(snaps)):
            s = v[j * rows:(j + 1) * rows]
            t32 = th32.get(name)
            if t32 is None:
                t32 = _view(theta[name].to(torch.float32), s.ndim)
            theta[name] = update(theta[name], s, percentile, t32)
            th32[name] = _view(theta[name].to(torch.float32), s.ndim)
            cuts.append(th32[name] if relu[name] else
                        _view(torch.minimum(theta[name], cap_t[name]).to(torch.float32), s.ndim))
            snaps[j][name] = theta[name]
        grouped = v.unflatten(0, (len(snaps), rows))
        torch.minimum(grouped, torch.stack(cuts), out=grouped)
        return v

    k, bar = 0, progress(total=budget, desc=f"calibrate ({method})", unit="batch")
    try:
        while k < budget:
            g = min(g_max, budget - k)
            idx = np.concatenate([batch_indices(n, k + j, b) for j in range(g)])
            snaps[:] = [{} for _ in range(g)]
            tg.run(x[idx], hook)
            for j in range(g):
                bar.update(1)
                if stop(k + j, {name: t.numpy() for name, t in snaps[j].items()}):
                    return {name: t.numpy() for name, t in snaps[j].items()}, k + j + 1
            k += g
        return {name: t.numpy() for name, t in theta.items()}, k
    finally:
        bar.close()
