"""``simulate`` on the torch backend: the NumPy simulator's interface and result, computed by ``SpikingNet``.

Batches of ``batch_size`` samples, each run in time chunks (state carried), with
no autograd graph. The readout of every T comes from running float64 sums of
I_L(t) at the window boundaries, as in ``snnc.runtime.numpy_sim``; spikes and
SOPs per layer and step fill the same ``Activity`` (``source="torch"``).

A sigma-delta network (``SigmaDeltaNeuron`` layers) gets the NumPy sigma-delta
simulator's result (``snnc.runtime.numpy_sim.sigma_delta``): the logits for T
are the readout at step T (delay T - 1), graded spikes and graded ops per
layer and step (``source="torch-sigma-delta"``, first-layer MACs ``once``, the
payload width), records ``counts`` / ``output`` on request and always
``payload_histogram`` ({layer: counts of |s| = 1 .. 2^B - 1}).

CPU threads: with k > 1 threads and at least two batches, k Python workers each
simulate whole batches with one torch thread apiece (``_parallel``), instead of
one batch at a time split over k OpenMP threads. Batches are independent, so the
results are those of a one-thread run (every batch computes the same ops on the
same samples); what changes is the synchronisation: OpenMP splits every
elementwise op of the IF scans and waits at its end for the slowest thread, so
on a shared machine one descheduled thread stalls all of them at every op
(docs/benchmarks.md, "Torch backend vs SpikingJelly"); whole-batch workers
meet only once per batch. The accumulators are updated under a lock.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence, Union

import numpy as np
import torch

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import UsageError
from snnc.compiler.ir import Graph, node_macs
from snnc.compiler.progress import progress
from snnc.runtime.numpy_sim.plan import DEFAULT_CHUNK_BYTES, RAM_FRACTION, available_ram, choose_chunk, make_plan
from snnc.runtime.numpy_sim.simulate import SimResult, _check_data, parse_T, readout_delays
from snnc.runtime.torch_sim.device import resolve_device
from snnc.runtime.torch_sim.net import DTYPES, SpikingNet

log = logging.getLogger(__name__)
RECORDS = ("spikes", "counts", "output", "membrane")
SD_RECORDS = ("counts", "output")     # as the NumPy sigma-delta simulator
CHUNK_BYTES = 16 * DEFAULT_CHUNK_BYTES   # torch's per-call overhead favours bigger chunks than NumPy's cache-sized ones


def simulate(model: Union[Artifact, Graph], x, T: Union[int, Sequence[int]] = 32, y=None, *, delay=None,
             batch_size: int = 256, time_chunk: Optional[int] = None, record: Sequence[str] = (),
             device: str = "cpu", dtype: str = "float32", threads: Optional[int] = None,
             memory_limit: Optional[int] = None, show_progress: bool = True, net: Optional[SpikingNet] = None
             ) -> SimResult:
    """As ``snnc.runtime.numpy_sim.simulate``, on torch: ``device`` ("cpu", "cuda", "cuda:1"), ``dtype``
    ("float32" or "float64"), ``threads`` (CPU threads; default torch's). ``net``: an existing
    ``SpikingNet`` of the model (e.g. one being trained) instead of building one."""
    graph = model.snn if isinstance(model, Artifact) else model
    Ts = parse_T(T)
    x = _check_data(graph, x)
    if set(record) - set(RECORDS):
        raise UsageError(f"unknown record {sorted(set(record) - set(RECORDS))}; choose from {RECORDS}")
    if dtype not in DTYPES:
        raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    dev = resolve_device(device)
    net = net if net is not None else SpikingNet(graph, dtype=DTYPES[dtype], device=dev)
    if net.sigma_delta and set(record) - set(SD_RECORDS):
        raise UsageError(f"a sigma-delta simulation records {', '.join(SD_RECORDS)}; got {sorted(set(record))}")
    n, tmax = x.shape[0], Ts[-1]
    batch = min(batch_size, max(1, n))
    starts = range(0, n, batch)
    k = max(1, min(int(threads or torch.get_num_threads()), len(starts))) if dev.type == "cpu" else 1
    # k batches in flight: each gets 1/k of the memory budget
    tc = _chunk(graph, batch, tmax, time_chunk, memory_limit, k * DTYPES[dtype].itemsize // 4)
    delays = {t: t - 1 for t in Ts} if net.sigma_delta else readout_delays(model, delay, Ts)
    run = _Run(net, n, tmax, delays, set(record))
    total = -(-n // batch) * -(-tmax // tc)
    with _threads(1 if k > 1 else threads), torch.no_grad(), (
            progress(total=total, desc="simulate (torch)", unit="chunk") if show_progress
            else contextlib.nullcontext()) as bar:
        if k > 1:
            _parallel(run, x, starts, batch, tc, bar, k)
        else:
            for a in starts:
                run.batch(x[a:a + batch], a, tc, bar)
    return run.result(Ts, y)


def _parallel(run, x, starts, batch: int, tc: int, bar, k: int) -> None:
    """Whole batches on k worker threads, one torch thread each (torch ops release the GIL)."""
    def work(a):
        with torch.no_grad():
            run.batch(x[a:a + batch], a, tc, bar)

    with ThreadPoolExecutor(k) as pool:
        for f in [pool.submit(work, a) for a in starts]:
            f.result()


def _chunk(graph, batch, T, time_chunk, memory_limit, scale) -> int:
    """Steps per chunk: the NumPy plan's memory check (float64 doubles the tensors), then chunks of ~CHUNK_BYTES."""
    plan = make_plan(graph)
    limit = int(memory_limit if memory_limit is not None else RAM_FRACTION * available_ram()) // scale
    tc = choose_chunk(plan, batch, T, time_chunk, limit)
    if time_chunk is not None:
        return tc
    fits = (limit - batch * plan.sample_bytes) // max(1, batch * plan.step_bytes)
    return int(max(1, min(T, fits, CHUNK_BYTES // max(1, batch * plan.step_bytes))))


@contextlib.contextmanager
def _threads(k: Optional[int]):
    old = torch.get_num_threads()
    if k:
        torch.set_num_threads(int(k))
    try:
        yield
    finally:
        torch.set_num_threads(old)


class _Run:
    """Accumulators of one simulation (all batches), as the NumPy simulator's."""

    def __init__(self, net: SpikingNet, n: int, tmax: int, delays: dict, record: set):
        g = net.graph
        self.net, self.n, self.tmax, self.delays, self.record = net, n, tmax, delays, record
        self.spikes = {l: np.zeros(tmax) for l in net.neurons}
        self.sops = {l: np.zeros(tmax) for l in net.neurons}
        self.bounds = sorted({0, *delays, *delays.values()})
        k_shape = g.node(net.readout).shape
        self.logits = {t: np.zeros((n,) + k_shape, np.float32) for t in delays}
        self.records, self.lock = {}, threading.Lock()
        shapes = {l: g.node(l).shape for l in net.neurons}
        if "spikes" in record:
            self.records["spikes"] = {l: np.zeros((tmax, n) + s, bool) for l, s in shapes.items()}
        if "counts" in record:
            self.records["counts"] = {l: np.zeros((n,) + s, np.int32) for l, s in shapes.items()}
        if "output" in record:
            self.records["output"] = np.zeros((tmax, n) + k_shape, np.float32)
        if "membrane" in record:
            self.records["membrane"] = {l: np.zeros((n,) + s, np.float32) for l, s in shapes.items()}
        if net.sigma_delta:
            self.hist = {l: np.zeros(2 ** g.node(l).op.bits, np.int64) for l in net.neurons}

    def batch(self, xb: np.ndarray, start: int, tc: int, bar) -> None:
        n = xb.shape[0]
        want = [r for r in ("spikes", "counts", "membrane") if r in self.record]
        acc = np.zeros((n,) + self.net.graph.node(self.net.readout).shape)
        sums, state = {0: acc}, None
        for t0 in range(0, self.tmax, tc):
            steps = min(tc, self.tmax - t0)
            r = self.net(xb, steps, record=want, state=state)
            state = r.state
            out = r.output.cpu().numpy()
            cs = np.cumsum(out, axis=0, dtype=np.float64) + acc
            for b in self.bounds:
                if t0 < b <= t0 + steps:
                    sums[b] = cs[b - t0 - 1]
            acc = cs[-1]
            if self.net.sigma_delta:        # the readout at step T: its value then, no window
                for t in self.delays:
                    if t0 < t <= t0 + steps:
                        self.logits[t][start:start + n] = out[t - t0 - 1]
            with self.lock:
                self._keep(r, out, t0, steps, start, n)
                if bar is not None:
                    bar.update(1)
        if not self.net.sigma_delta:
            for t, d in self.delays.items():    # mean of I_L(t) over t = D+1..T
                self.logits[t][start:start + n] = (sums[t] - sums[d]) / (t - d)

    def _keep(self, r, out, t0, steps, start, n) -> None:
        for l in self.net.neurons:
            self.spikes[l][t0:t0 + steps] += r.spikes_per_step[l].cpu().numpy()
            self.sops[l][t0:t0 + steps] += r.sop_per_step[l].cpu().numpy()
            if "spikes" in self.record:
                self.records["spikes"][l][t0:t0 + steps, start:start + n] = r.spikes[l].cpu().numpy() != 0
            if "counts" in self.record:
                self.records["counts"][l][start:start + n] += r.counts[l].cpu().numpy().astype(np.int32)
            if "membrane" in self.record:
                self.records["membrane"][l][start:start + n] = r.membrane[l].cpu().numpy()
            if l in r.payloads:
                self.hist[l] += r.payloads[l].numpy()
        if "output" in self.record:
            self.records["output"][t0:t0 + steps, start:start + n] = out

    def result(self, Ts, y) -> SimResult:
        logits = {t: self.logits[t] for t in Ts}
        g, n = self.net.graph, max(1, self.n)
        layers = [LayerActivity(l, int(np.prod(g.node(l).shape)), (self.spikes[l] / n).tolist(),
                                (self.sops[l] / n).tolist()) for l in self.net.neurons]
        sd = self.net.sigma_delta
        act = Activity(T=self.tmax, samples=self.n, source="torch-sigma-delta" if sd else "torch", layers=layers,
                       first_layer_macs=int(sum(node_macs(g, g.node(s)) for s in self.net.static)),
                       first_layer_convention="once" if sd else "per-step",
                       output_neurons=int(np.prod(g.node(self.net.readout).shape)),
                       payload_bits=max(g.node(l).op.bits for l in self.net.neurons) + 1 if sd else 1)
        records = dict(self.records)
        if sd:
            records["payload_histogram"] = {k: h[1:].tolist() for k, h in self.hist.items()}
        return SimResult.scored(Ts, self.delays, logits, act, y, records)
