"""Calibration statistics per neuron layer and the readout delay estimate (algorithms.md section 6).

One forward pass of the calibrated clip-ANN over a statistics set (in a
compile: the clipping check's held-back slice, collected by the check's own
forward pass through ``Statistics``; ``layer_statistics``: the first
``max_samples`` samples given) records, per IFNeuron layer, from
r = ReLU(z) (z: the layer's input current under the final thresholds):

* percentiles 50 / 90 / 99 / 99.9 of r over all elements (from an evenly
  strided subsample of at most ~2e4 values per batch, strided in the
  array's memory order) and the exact max;
* thresholds (min / median / max over channels, every value, dead channels);
* ``expected_rate`` = mean over samples and neurons of clip(z, 0, theta) / theta
  (0 for a dead channel), the firing rate the energy estimator assumes;
* ``first_spike_steps`` = min_i (theta_i - v_i(0)) / E_x[ReLU(z_i)] with
  v(0) = 0.5 theta, over neurons i (every element of the layer's map) with
  E_x[ReLU(z_i)] > 0 and theta_i > 0 (others never fire and are excluded).

The paper's Eq. 19 estimate of the output layer's first-spike time is
t0 = sum over spiking layers of first_spike_steps (in folded units theta = 1,
v(0) = 0.5 and E[ReLU(z~)] = E[ReLU(z)] / theta: the same number).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.calibrate.loop import clip_channels, open_graph
from snnc.compiler.execute import runner
from snnc.compiler.ir import Graph

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SUBSAMPLE = 20_000


class _Layer:
    def __init__(self, theta: np.ndarray, shape):
        self.theta = theta
        self.sum_r = np.zeros(shape, np.float64)
        self.sum_rate = 0.0
        self.count = 0
        self.peak = 0.0
        self.samples = []

    def add(self, r: np.ndarray) -> np.ndarray:
        clipped = clip_channels(r, self.theta)
        inv = np.zeros_like(self.theta)
        np.divide(1.0, self.theta, out=inv, where=self.theta > 0)
        per_channel = clipped.sum(axis=tuple(i for i in range(r.ndim) if i != 1), dtype=np.float64)
        self.sum_rate += float(per_channel @ inv)
        self.sum_r += r.sum(axis=0, dtype=np.float64)
        self.count += len(r)
        self.peak = max(self.peak, float(r.max()))
        flat = r.ravel(order="K")   # memory order: no copy of a channels-last view (torch engine)
        self.samples.append(flat[::max(1, flat.size // SUBSAMPLE)])
        return clipped

    def summary(self) -> dict:
        th, mean_r = self.theta, self.sum_r / max(self.count, 1)
        th_map = np.broadcast_to(th.reshape((-1,) + (1,) * (mean_r.ndim - 1)), mean_r.shape)
        live = (mean_r > 0) & (th_map > 0)
        first = float(np.min(0.5 * th_map[live] / mean_r[live])) if live.any() else None
        pct = np.percentile(np.concatenate(self.samples), PERCENTILES)
        return {
            "channels": int(len(th)), "neurons": int(mean_r.size),
            "threshold": {"min": float(th.min()), "median": float(np.median(th)), "max": float(th.max())},
            "dead_channels": int(np.sum(th == 0)),
            "activation_percentiles": {**{f"{p:g}": float(v) for p, v in zip(PERCENTILES, pct)}, "max": self.peak},
            "expected_rate": self.sum_rate / max(self.count * mean_r.size, 1),
            "first_spike_steps": first,
            "thresholds": [float(v) for v in th.astype(np.float32)],
        }


class Statistics:
    """Per-layer statistics accumulated from the batches of one clip-ANN forward pass (module docstring).

    ``add(name, r)`` takes a neuron layer's r = ReLU(z) (the open graph's value),
    records it and returns it clipped at the layer's thresholds (an executor
    hook's replacement value); ``summary()`` gives the record. The clipping
    check (``check.measure``) collects them in its own forward pass, so a
    compile runs no separate statistics pass.
    """

    def __init__(self, open_graph: Graph, theta: dict):
        self.layers = {name: _Layer(np.asarray(t, np.float64), open_graph.node(name).shape) for name, t in theta.items()}

    def add(self, name: str, r: np.ndarray) -> np.ndarray:
        return self.layers[name].add(r)

    def summary(self) -> dict:
        out = {name: layer.summary() for name, layer in self.layers.items()}
        t0 = float(sum(s["first_spike_steps"] for s in out.values() if s["first_spike_steps"] is not None))
        samples = next(iter(self.layers.values())).count if self.layers else 0
        return {"layers": out, "t0": t0, "samples": int(samples)}


def layer_statistics(graph: Graph, x: np.ndarray, batch_size: int = 100, max_samples: int = 512) -> dict:
    """{"layers": {neuron name: summary}, "t0": Eq. 19 estimate, "samples": n} for a calibrated graph."""
    open_g, theta = open_graph(graph)
    stats = Statistics(open_g, theta)

    def hook(name, value):
        return stats.add(name, value) if name in stats.layers else None

    xs, fwd = x[:max_samples], runner(open_g)
    for i in range(0, len(xs), batch_size):
        fwd(xs[i:i + batch_size], hook)
    return {**stats.summary(), "samples": int(len(xs))}
