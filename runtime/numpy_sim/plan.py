"""Static analysis of a spiking graph for the fast simulator: what is constant in time, memory, chunking.

* A node is *static* (constant in time) when it is the ``Input`` or a non-neuron
  op whose inputs are all static: under direct coding the analog input is the
  same every step, so these layers are computed once per batch and broadcast
  (a max pool of either mode on a constant current is exact: J(t) = max_i z_i).
* Every other node is *dynamic*: evaluated for a chunk of ``Tc`` steps at once
  on a (Tc * N, *shape) tensor, t-major.

Memory is estimated from node shapes (float32): per (step, sample) the peak
over the topological order of the live dynamic tensors plus the current op's
workspace (im2col columns for a convolution, a copy for the rest); per sample
the static tensors and the state (membranes, cumulative-pool running sums and
previous maxima, readout sums).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from snnc.compiler.errors import SimulationError
from snnc.compiler.ir import AvgPool2d, Graph, IFNeuron, MaxPool2d, Pad, static_nodes

DEFAULT_CHUNK_BYTES = 16 * 2 ** 20    # working-set target of one time chunk (cache-sized chunks run fastest)
RAM_FRACTION = 0.8                   # share of available RAM a run may use
GIB = 2 ** 30


@dataclass(frozen=True)
class Plan:
    graph: Graph
    static: frozenset          # names of nodes constant in time
    dynamic: tuple             # dynamic nodes in topological order
    last_use: dict             # dynamic/static name -> index in ``dynamic`` of its last dynamic consumer
    readout: str               # first graph output (non-spiking accumulator)
    step_bytes: int            # working set per (step, sample)
    sample_bytes: int          # statics + state per sample

    @property
    def neurons(self) -> list:
        return [n for n in self.dynamic if isinstance(n.op, IFNeuron)]

    def cumulative_pools(self) -> list:
        return [n for n in self.dynamic if is_cumulative(n)]


def is_cumulative(node) -> bool:
    return isinstance(node.op, MaxPool2d) and node.op.mode == "cumulative"


def make_plan(graph: Graph) -> Plan:
    static = static_nodes(graph)
    dynamic = tuple(n for n in graph.nodes if n.name not in static)
    last_use = {}
    for i, n in enumerate(dynamic):
        for s in n.inputs:
            last_use[s] = i
    readout = graph.outputs[0]
    step = _step_bytes(graph, dynamic, last_use, static, readout)
    sample = _sample_bytes(graph, dynamic, static, last_use)
    return Plan(graph, frozenset(static), dynamic, last_use, readout, step, sample)


def _size(graph: Graph, name: str) -> int:
    return int(np.prod(graph.node(name).shape))


def _workspace(graph: Graph, node) -> int:
    """Elements of temporaries while ``node`` runs (beyond its output)."""
    if node.type == "Conv2d":
        _, ig, kh, kw = node.op.weight.shape
        c_in = graph.node(node.inputs[0]).shape[0]
        cols = int(np.prod(node.shape[1:])) * c_in * kh * kw
        return cols + 2 * _size(graph, node.name)
    if isinstance(node.op, (MaxPool2d, AvgPool2d, Pad)):   # a padded copy of the input
        return 2 * _size(graph, node.inputs[0])
    return 2 * _size(graph, node.name)


def _step_bytes(graph, dynamic, last_use, static, readout) -> int:
    live, peak = 0, 0
    for i, n in enumerate(dynamic):
        bcast = sum(_size(graph, s) for s in n.inputs if s in static)
        live += _size(graph, n.name)
        peak = max(peak, live + _workspace(graph, n) + bcast)
        for s in set(n.inputs):
            if s not in static and last_use.get(s) == i and s != readout:
                live -= _size(graph, s)
    return 4 * peak + 8 * _size(graph, readout)


def _sample_bytes(graph, dynamic, static, last_use) -> int:
    elems = sum(_size(graph, s) for s in static if s in last_use)
    for n in dynamic:
        if isinstance(n.op, IFNeuron):
            elems += _size(graph, n.name) * 3   # membrane, spike counts, fan-out scratch
        elif is_cumulative(n):
            elems += _size(graph, n.inputs[0]) + _size(graph, n.name)
    return 4 * elems + 8 * 4 * _size(graph, graph.outputs[0])


def available_ram() -> int:
    """Bytes of RAM available now (psutil when installed, else sysconf)."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _fmt(b: float) -> str:
    """Bytes as B / KiB / MiB / GiB with three significant figures."""
    for unit, f in (("GiB", GIB), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if b >= f:
            return f"{b / f:.3g} {unit}"
    return f"{int(b)} B"


def choose_chunk(plan: Plan, batch: int, T: int, time_chunk: Optional[int] = None,
                 memory_limit: Optional[int] = None, result_bytes: int = 0) -> int:
    """Steps per chunk for ``batch`` samples; SimulationError before allocating if nothing fits.

    bytes(Tc, N) = N * (Tc * step_bytes + sample_bytes) + result_bytes (outputs kept for all samples),
    with a requested ``time_chunk`` first capped at T (a chunk never holds more than the run's steps).
    """
    limit = int(memory_limit if memory_limit is not None else RAM_FRACTION * available_ram())
    if result_bytes >= limit:
        raise SimulationError(f"the requested results alone (logits per T and records) need about "
                              f"{_fmt(result_bytes)} but only {_fmt(limit)} is available: "
                              f"simulate fewer samples per run (--n) or record less")
    fixed = batch * plan.sample_bytes + result_bytes
    per_step = batch * plan.step_bytes
    fits = (limit - fixed) // per_step if per_step else T
    if fits < 1:
        raise SimulationError(_batch_advice(plan, batch, limit - result_bytes, fixed + per_step, result_bytes))
    if time_chunk is not None:
        tc = min(int(time_chunk), T)
        if tc > fits:
            raise SimulationError(
                f"a time chunk of {tc} steps x batch {batch} needs about "
                f"{_fmt(fixed + tc * per_step)} but only {_fmt(limit)} is available: "
                f"use a time chunk of at most {fits} step{'s' if fits > 1 else ''} (--time-chunk) or a smaller batch")
        return max(1, tc)
    target = min(DEFAULT_CHUNK_BYTES, limit - fixed)
    return int(max(1, min(T, fits, target // per_step if per_step else T)))


def _batch_advice(plan: Plan, batch: int, free: int, need: int, result_bytes: int) -> str:
    """What to do when a batch does not fit even one step at a time: a smaller batch, or more memory."""
    per_sample = plan.step_bytes + plan.sample_bytes
    head = (f"simulating a batch of {batch} needs about {_fmt(need)} even one step at a time, but only "
            f"{_fmt(max(free, 0))} is available")
    if free // per_sample >= 1:
        return f"{head}: use a batch size of at most {free // per_sample} (--batch-size)"
    big = max(plan.dynamic, key=lambda n: _size(plan.graph, n.name), default=None)
    where = f"; its largest time-varying layer is {big.name!r} ({_size(plan.graph, big.name):,} values)" if big else ""
    results = (f"; the kept results take {_fmt(result_bytes)} of the limit: simulate fewer samples (--n)"
               if result_bytes >= per_sample else "")
    return (f"{head}. Even one sample does not fit: it needs {_fmt(per_sample)} ({_fmt(plan.step_bytes)} of "
            f"layer tensors per step + {_fmt(plan.sample_bytes)} of state){where}. Free memory (other "
            f"programs), run on a machine with more RAM, or use a smaller input resolution{results}")
