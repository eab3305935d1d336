"""NumPy reference simulator of a sigma-delta network (``SigmaDeltaNeuron`` layers, graded spikes).

Semantics (``SigmaDeltaNeuron`` in ``snnc.compiler.ir.ops``; algorithms.md,
section sigma-delta), with direct input coding and the whole graph evaluated
every step as the IF simulator does (no per-layer delay)::

    for t in 1..T:
        every synaptic op on the presynaptic values     sigma(t) = sum_{k<=t} W x(k) + b
        SigmaDeltaNeuron: q(t) = clip(floor(sigma(t) / step + 1/2), 0, 2^B - 1)
                          s(t) = q(t) - q(t-1)  (sent when |s| >= 1)
                          the receivers' sums hold step * q(t)

Loihi accumulates graded inputs in integers, so sum_k W_int s(k) = W_int q(t)
exactly; the simulator evaluates that closed form, each synaptic op applied to
the reconstructed step * q(t) (the same float32 kernels as the ANN executor),
which makes the run bit-identical to the B-bit quantised ANN once its inputs
have settled. A max pool of reconstructed values is the cumulative pool
(max of the running sums). The readout is the last output's value at step T
(its sigma), not a window mean: the logits for T are I_L(T).

Counts per layer and step: graded spikes (non-zero s), graded synaptic
operations (graded spikes times their exact fan-out, one multiply-accumulate
each) and a histogram of |s| (the payload magnitudes). The first layer's
sigma holds W x + b from step 1 on: the analog input is delta-encoded too
(sent once on a static input, as Lava's SDNN input Delta), so its MACs count
once per sample (``first_layer_convention = "once"``).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.errors import UsageError
from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph, Input, SigmaDeltaNeuron, node_macs, static_nodes
from snnc.compiler.ir.ops.geometry import channel_view
from snnc.compiler.ir.ops.neuron import activation_code
from snnc.compiler.progress import progress

RECORDS = ("counts", "output")


def is_sigma_delta(graph: Graph) -> bool:
    return any(isinstance(n.op, SigmaDeltaNeuron) for n in graph.nodes)


class SigmaDeltaRun:
    """Accumulators of one sigma-delta simulation over all batches (largest T ``tmax``)."""

    def __init__(self, graph: Graph, n: int, tmax: int, record=()):
        if set(record) - set(RECORDS):
            raise UsageError(f"a sigma-delta simulation records {', '.join(RECORDS)}; got {sorted(set(record))}")
        self.g, self.n, self.tmax, self.record = graph, n, tmax, set(record)
        self.layers = [x for x in graph.nodes if isinstance(x.op, SigmaDeltaNeuron)]
        self.fan = fanout_maps(graph)
        self.spikes = {l.name: np.zeros(tmax) for l in self.layers}
        self.ops = {l.name: np.zeros(tmax) for l in self.layers}
        self.hist = {l.name: np.zeros(2 ** l.op.bits, np.int64) for l in self.layers}
        k = graph.node(graph.outputs[0]).shape
        self.trace = np.zeros((tmax, n) + k, np.float32)
        self.counts = {l.name: np.zeros((n,) + l.shape, np.int32) for l in self.layers}
        self.static = static_nodes(graph)

    def batch(self, xb: np.ndarray, start: int) -> None:
        g, n = self.g, xb.shape[0]
        q_prev = {l.name: np.zeros((n,) + l.shape, np.float32) for l in self.layers}
        fixed = {}
        for t in range(self.tmax):
            vals = {}
            for node in g.nodes:
                if node.name in fixed:
                    vals[node.name] = fixed[node.name]
                    continue
                ins = [vals[s] for s in node.inputs]
                if isinstance(node.op, Input):
                    vals[node.name] = xb
                elif isinstance(node.op, SigmaDeltaNeuron):
                    step = channel_view(np.asarray(node.op.step, np.float32), ins[0].ndim)
                    q = activation_code(ins[0], step, node.op.bits)
                    self._count(node, q - q_prev[node.name], t, start)
                    q_prev[node.name] = q
                    vals[node.name] = (q * step).astype(np.float32)
                else:
                    vals[node.name] = apply(node.op, *ins)
                if node.name in self.static:
                    fixed[node.name] = vals[node.name]
            self.trace[t, start:start + n] = vals[g.outputs[0]]

    def _count(self, node, s: np.ndarray, t: int, start: int) -> None:
        sent = s != 0
        per_neuron = sent.reshape(s.shape[0], -1).sum(axis=0, dtype=np.int64)
        self.spikes[node.name][t] += per_neuron.sum()
        self.ops[node.name][t] += float(per_neuron @ self.fan[node.name].reshape(-1))
        self.hist[node.name] += np.bincount(np.abs(s[sent]).astype(np.int64), minlength=len(self.hist[node.name]))
        self.counts[node.name][start:start + s.shape[0]] += sent

    def activity(self) -> Activity:
        n = max(1, self.n)
        layers = [LayerActivity(l.name, int(np.prod(l.shape)), (self.spikes[l.name] / n).tolist(),
                                (self.ops[l.name] / n).tolist()) for l in self.layers]
        first = sum(node_macs(self.g, self.g.node(s)) for s in self.static)
        return Activity(T=self.tmax, samples=self.n, source="numpy-sigma-delta", layers=layers,
                        first_layer_macs=int(first), first_layer_convention="once",
                        output_neurons=int(np.prod(self.g.node(self.g.outputs[0]).shape)),
                        payload_bits=max(l.op.bits for l in self.layers) + 1)

    def payload_histograms(self) -> dict:
        """{layer: [count of graded spikes with |payload| = 1, 2, ..., 2^B - 1]} summed over samples and steps."""
        return {k: h[1:].tolist() for k, h in self.hist.items()}


def simulate_sigma_delta(graph: Graph, x, Ts, y, batch_size, record, show_progress):
    """``SigmaDeltaRun`` over batches -> ``SimResult``: logits for T are the readout's value at step T; records
    always hold ``payload_histogram``, plus ``counts`` (graded spikes per neuron) / ``output`` on request."""
    from snnc.runtime.numpy_sim.simulate import SimResult, _NoBar
    if batch_size is None or batch_size <= 0:
        raise UsageError(f"batch size must be a positive integer, got {batch_size!r}")
    run = SigmaDeltaRun(graph, x.shape[0], Ts[-1], record)
    with (progress(total=-(-x.shape[0] // batch_size), desc="simulate sigma-delta", unit="batch")
          if show_progress else _NoBar()) as bar:
        for a in range(0, x.shape[0], batch_size):
            run.batch(x[a:a + batch_size], a)
            bar.update(1)
    logits = {t: run.trace[t - 1] for t in Ts}
    act = run.activity()
    acc = {}
    if y is not None:
        acc = {t: float(np.mean(np.argmax(logits[t], axis=1) == np.asarray(y))) for t in Ts}
        act.accuracy = dict(acc)
    records = {"payload_histogram": run.payload_histograms()}
    if "counts" in record:
        records["counts"] = run.counts
    if "output" in record:
        records["output"] = run.trace
    return SimResult(Ts, {t: t - 1 for t in Ts}, logits, act, acc, records)
