"""Fast reference simulator of an integrate-and-fire graph: one run of the largest T, every T read out.

Semantics (algorithms.md sections 1, 4, 6; ``IFNeuron`` in ``snnc.compiler.ir.ops``):
direct input coding (the same analog x every step), every non-neuron op applied
to each step's tensor (bias every step), IF neurons with ``v >= theta``,
reset by subtraction or to zero, v(0) = v_init, x(t) = s(t) * theta; a
``MaxPool2d`` pools each step's current (``pre-neuron``) or the running sums
(``cumulative``: J(t) = max_i C_i(t) - max_i C_i(t-1)). The readout for T steps
with delay D is ``mean_{t=D+1..T} I_L(t)`` of the first graph output.

Speed: layers before the first neuron are constant in time and computed once
per batch; the rest runs layer by layer in topological order with all ``Tc``
steps of a time chunk as one (Tc * N) batch (one GEMM per layer and chunk:
``fastops.run_op``, i.e. large-batch conv / max-pool kernels, else
``snnc.compiler.execute.apply``); the IF recurrence is an elementwise scan over
t; membranes and cumulative-pool sums carry over between chunks. Running
float64 sums of I_L(t) at every window boundary give all T from one run.

Operation counts (per sample, per step): spikes per layer, exact SOPs
(spikes times their fan-out, ``snnc.compiler.analysis.sop``), first-layer MACs
under the ``per-step`` convention (the dense layers before the first neuron
run every step on hardware: the simulator computes them once, the count is per step).
"""
from __future__ import annotations

import logging
from typing import Optional, Sequence, Union

import numpy as np

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.artifact import Artifact
from snnc.compiler.readout import parse_delay, parse_T, window_delays  # noqa: F401 - parse_T re-exported
from snnc.compiler.errors import DataError, UsageError
from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph, IFNeuron, node_macs
from snnc.compiler.progress import progress
from snnc.runtime.numpy_sim.fastops import run_op
from snnc.runtime.numpy_sim.sigma_delta import is_sigma_delta, simulate_sigma_delta
from snnc.runtime.result import RunResult
from snnc.runtime.numpy_sim.plan import Plan, choose_chunk, is_cumulative, make_plan
from snnc.runtime.numpy_sim.steps import CumulativePoolState, NeuronState, cumulative_pool, if_scan

log = logging.getLogger(__name__)
RECORDS = ("spikes", "counts", "output", "membrane")


SimResult = RunResult   # the neutral result type (runtime/result.py), named for this backend


def readout_delays(model, delay, Ts) -> dict:
    """{T: D} by the rule of ``snnc.compiler.readout`` (auto: clamp(floor(t0), 0, T-4); fixed: min(D, T-1))."""
    if callable(delay):
        return {t: max(0, min(int(delay(t)), t - 1)) for t in Ts}
    readout = model.meta.get("readout") if isinstance(model, Artifact) else None
    return window_delays(Ts, readout, parse_delay(delay))


def _check_data(graph: Graph, x) -> np.ndarray:
    ins = graph.inputs
    if len(ins) != 1:
        raise DataError(f"the simulator drives one analog input; the graph has {len(ins)} inputs")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or tuple(x.shape[1:]) != tuple(ins[0].shape):
        raise DataError(f"data of shape {x.shape} does not match the model input {ins[0].name!r} "
                        f"(samples of shape {ins[0].shape}: need an array (N, {', '.join(map(str, ins[0].shape))}))")
    return x


def simulate(model: Union[Artifact, Graph], x, T: Union[int, Sequence[int]] = 32, y=None, *,
             delay=None, batch_size: int = 256, time_chunk: Optional[int] = None,
             memory_limit: Optional[int] = None, record: Sequence[str] = (),
             show_progress: bool = True) -> SimResult:
    """Simulate ``model`` (an Artifact's ``snn`` or a bare IF Graph) on ``x`` for every T in ``T``.

    ``delay``: None/"auto" (the artifact's readout window, 0 for a bare graph),
    an int D (min(D, T - 1), warned when clamped: ``snnc.compiler.readout``) or
    a function T -> D. ``record``: any of "spikes" (full spike trains, for
    tests), "counts" (spikes per neuron over the largest T), "output" (the
    readout trace I_L(t), (T, N, K)), "membrane" (every IF layer's v(T) after
    the largest T, (N, *shape)). ``memory_limit`` in bytes (default: 80% of
    available RAM). A sigma-delta graph (``SigmaDeltaNeuron`` layers) runs
    ``sigma_delta.simulate_sigma_delta`` instead (graded spikes; records
    "counts" / "output" and always the payload histogram).
    """
    graph = model.snn if isinstance(model, Artifact) else model
    Ts = parse_T(T)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            x = _check_data(graph, x)
            if is_sigma_delta(graph):
                return simulate_sigma_delta(graph, x, Ts, y, batch_size, record, show_progress)
            return _simulate(model, graph, x, Ts, y, delay, batch_size, time_chunk, memory_limit, record,
                             show_progress)
    except FloatingPointError as e:
        raise DataError(f"the simulation overflows float32 on this data ({e}); check the input scaling "
                        f"(normalise the data as in training) and the model weights") from None


def _simulate(model, graph, x, Ts, y, delay, batch_size, time_chunk, memory_limit, record, show_progress):
    plan, batch, tc = _memory_plan(graph, x.shape[0], Ts, batch_size, time_chunk, record, memory_limit)
    delays = readout_delays(model, delay, Ts)
    run = _Run(plan, x.shape[0], Ts[-1], delays, set(record))
    log.debug("simulate: %d samples, batch %d, T=%d, %d steps per chunk", x.shape[0], batch, Ts[-1], tc)
    n_chunks = -(-Ts[-1] // tc)
    total = -(-x.shape[0] // batch) * n_chunks
    with (progress(total=total, desc="simulate", unit="chunk") if show_progress else _NoBar()) as bar:
        for a in range(0, x.shape[0], batch):
            run.batch(x[a:a + batch], a, tc, bar)
    return run.result(Ts, y)


def check_memory(model: Union[Artifact, Graph], n: int, T, batch_size: int = 256, time_chunk: Optional[int] = None,
                 record: Sequence[str] = (), memory_limit: Optional[int] = None) -> int:
    """The steps per chunk ``simulate`` would use for ``n`` samples, or the SimulationError it would raise,
    without running anything: call it before other long work (``snnc simulate`` does, before the ANN passes)."""
    graph = model.snn if isinstance(model, Artifact) else model
    return _memory_plan(graph, n, parse_T(T), batch_size, time_chunk, record, memory_limit)[2]


def _memory_plan(graph: Graph, n: int, Ts, batch_size, time_chunk, record, memory_limit):
    """(plan, batch, steps per chunk) after the argument checks and the memory estimate of ``plan.py``."""
    if batch_size is None or batch_size <= 0:
        raise UsageError(f"batch size must be a positive integer, got {batch_size!r}")
    if time_chunk is not None and time_chunk <= 0:
        raise UsageError(f"time chunk must be a positive integer, got {time_chunk!r}")
    if set(record) - set(RECORDS):
        raise UsageError(f"unknown record {sorted(set(record) - set(RECORDS))}; choose from {RECORDS}")
    plan = make_plan(graph)
    batch = min(batch_size, max(1, n))
    tc = choose_chunk(plan, batch, Ts[-1], time_chunk, memory_limit, _result_bytes(plan, n, len(Ts), Ts[-1], record))
    return plan, batch, tc


def _result_bytes(plan: Plan, n: int, n_T: int, tmax: int, record) -> int:
    """Bytes of the results kept for all samples: logits per T and the requested records."""
    neurons = sum(int(np.prod(l.shape)) for l in plan.neurons)
    k = int(np.prod(plan.graph.node(plan.readout).shape))
    return n * (4 * k * n_T + ("spikes" in record) * tmax * neurons + ("counts" in record) * 4 * neurons
                + ("output" in record) * 4 * tmax * k + ("membrane" in record) * 4 * neurons)


class _Run:
    """Accumulators of one simulation (all batches)."""

    def __init__(self, plan: Plan, n: int, tmax: int, delays: dict, record: set):
        g = plan.graph
        self.plan, self.n, self.tmax, self.delays, self.record = plan, n, tmax, delays, record
        self.fan = fanout_maps(g)
        self.spikes = {l.name: np.zeros(tmax) for l in plan.neurons}
        self.sops = {l.name: np.zeros(tmax) for l in plan.neurons}
        self.bounds = sorted({0, *delays, *delays.values()})
        k_shape = g.node(plan.readout).shape
        self.logits = {t: np.zeros((n,) + k_shape, np.float32) for t in delays}
        self.records = {}
        if "spikes" in record:
            self.records["spikes"] = {l.name: np.zeros((tmax, n) + l.shape, bool) for l in plan.neurons}
        if "counts" in record:
            self.records["counts"] = {l.name: np.zeros((n,) + l.shape, np.int32) for l in plan.neurons}
        if "output" in record:
            self.records["output"] = np.zeros((tmax, n) + k_shape, np.float32)
        if "membrane" in record:
            self.records["membrane"] = {l.name: np.zeros((n,) + l.shape, np.float32) for l in plan.neurons}

    def batch(self, xb: np.ndarray, start: int, tc: int, bar) -> None:
        plan, n = self.plan, xb.shape[0]
        statics = _statics(plan, xb)
        states = _states(plan, n)
        acc = np.zeros((n,) + plan.graph.node(plan.readout).shape)
        sums = {0: acc}                      # running float64 sums of I_L at every window boundary
        for t0 in range(0, self.tmax, tc):
            steps = min(tc, self.tmax - t0)
            out = self._chunk(statics, states, steps, n, t0, start)
            cs = np.cumsum(out, axis=0, dtype=np.float64) + acc
            for b in self.bounds:
                if t0 < b <= t0 + steps:
                    sums[b] = cs[b - t0 - 1]
            acc = cs[-1]
            if "output" in self.record:
                self.records["output"][t0:t0 + steps, start:start + n] = out
            bar.update(1)
        if "membrane" in self.record:
            for name, m in self.records["membrane"].items():
                m[start:start + n] = states[name].v
        for t, d in self.delays.items():    # mean of I_L(t) over t = D+1..T
            self.logits[t][start:start + n] = (sums[t] - sums[d]) / (t - d)

    def _chunk(self, statics, states, tc, n, t0, start) -> np.ndarray:
        plan, values = self.plan, {}
        for i, node in enumerate(plan.dynamic):
            if isinstance(node.op, IFNeuron):
                src = node.inputs[0]
                const = src in plan.static
                cur = statics[src] if const else values[src]
                values[node.name], spikes = if_scan(states[node.name], cur, tc, const)
                self._count(node, values[node.name], spikes, t0, start, states[node.name].unit)
            elif is_cumulative(node):
                values[node.name] = cumulative_pool(states[node.name], values[node.inputs[0]], tc)
            else:
                ins = [values[s] if s in values else _broadcast(statics[s], tc) for s in node.inputs]
                values[node.name] = run_op(node.op, *ins)
            for s in set(node.inputs):
                if plan.last_use.get(s) == i and s in values and s != plan.readout:
                    del values[s]
        if plan.readout in plan.static:
            return np.broadcast_to(statics[plan.readout], (tc,) + statics[plan.readout].shape)
        return values[plan.readout].reshape((tc, n) + plan.graph.node(plan.readout).shape)

    def _count(self, node, x, spikes, t0, start, unit) -> None:
        """Spikes and exact SOPs per step: SOP(t) = sum_i F_i * (spikes of neuron i at t, summed over samples)."""
        tc, n = spikes.shape[:2]
        per_neuron = spikes.reshape(tc, n, -1).sum(axis=1, dtype=np.int32)        # (tc, neurons)
        self.spikes[node.name][t0:t0 + tc] += per_neuron.sum(axis=1)
        self.sops[node.name][t0:t0 + tc] += per_neuron @ self.fan[node.name].reshape(-1)
        if "spikes" in self.records:
            self.records["spikes"][node.name][t0:t0 + tc, start:start + n] = spikes
        if "counts" in self.records:
            self.records["counts"][node.name][start:start + n] += spikes.sum(axis=0, dtype=np.int32)

    def result(self, Ts, y) -> SimResult:
        return SimResult.scored(Ts, self.delays, self.logits, self.activity(), y, self.records)

    def activity(self) -> Activity:
        g, n = self.plan.graph, max(1, self.n)
        layers = [LayerActivity(l.name, int(np.prod(l.shape)), (self.spikes[l.name] / n).tolist(),
                                (self.sops[l.name] / n).tolist()) for l in self.plan.neurons]
        first = sum(node_macs(g, g.node(s)) for s in self.plan.static)
        return Activity(T=self.tmax, samples=self.n, source="numpy", layers=layers,
                        first_layer_macs=int(first), first_layer_convention="per-step",
                        output_neurons=int(np.prod(g.node(self.plan.readout).shape)))


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, k=1):
        pass


def _broadcast(v: np.ndarray, tc: int) -> np.ndarray:
    """A static (N, *shape) tensor repeated for tc steps as (tc * N, *shape)."""
    return np.broadcast_to(v, (tc,) + v.shape).reshape((tc * v.shape[0],) + v.shape[1:])


def _statics(plan: Plan, xb: np.ndarray) -> dict:
    """Evaluate the time-constant layers once; keep those a dynamic node (or the readout) reads."""
    g, values = plan.graph, {}
    for node in g.nodes:
        if node.name in plan.static:
            values[node.name] = xb if not node.inputs else apply(node.op, *[values[s] for s in node.inputs])
    keep = set(plan.last_use) | {plan.readout}
    return {k: v for k, v in values.items() if k in keep}


def _states(plan: Plan, n: int) -> dict:
    g, states = plan.graph, {}
    for node in plan.dynamic:
        if isinstance(node.op, IFNeuron):
            states[node.name] = NeuronState.start(node.op, n, node.shape)
        elif is_cumulative(node):
            states[node.name] = CumulativePoolState.start(node.op, n, g.node(node.inputs[0]).shape, node.shape)
    return states
