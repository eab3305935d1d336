"""Run an SNN graph on Lava (Loihi2SimCfg) for many samples in one run.

All n samples stream through one process graph, T steps each; every stateful
process restarts its state when its own sample window begins (staggered by
its pipeline depth, like lava-dl netx's reset_interval / reset_offset), so
layer k sees sample s exactly k steps after the host input does, and the
readout's record of sample s is aligned with the NumPy simulator's (which has
no latency). The run happens in a watchdog worker (``watchdog.run_isolated``).

Processes: the custom kit (``custom``: ``IntegrateFire`` with reset by
subtraction, v >= theta, v(0) = v_init, and the ``lava_procs`` input, counter,
readout, delay and pool processes), or with ``stock=True`` only processes that
ship with lava-nc (``stock``: graded input from a RingBuffer into the first
synapse, ``LIFReset`` with reset to zero, v > vth, v(0) = 0, du = 4095 / 1.0,
dv = 0, counters and readout through sinks, DelayDense for residual delays).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.lower import NumberFormat, make_plan
from snnc.runtime.lava.custom import CUSTOM
from snnc.runtime.lava.lower import Ctx, lower_graph
from snnc.runtime.lava.numerics import number_format
from snnc.runtime.lava.stock import STOCK
from snnc.runtime.lava.timing import total_steps

import snnc.runtime.lava.lower_ops  # noqa: F401 - fills the lowering table

log = logging.getLogger(__name__)


@dataclass
class LavaRun:
    """Raw outcome of a Lava run: per-sample per-step readout currents and per-layer counts."""

    trace: np.ndarray                # (n, T, *out) readout current I_L(t), in IR units
    spikes: dict                     # layer -> (T,) spikes summed over samples
    sops: dict                       # layer -> (T,) synaptic operations summed over samples
    neurons: dict                    # layer -> neuron count
    steps: int = 0
    saturated: dict = field(default_factory=dict)
    numerics: dict = field(default_factory=dict)
    seconds: float = 0.0
    processes: int = 0               # OS processes of the run (watchdog worker + Lava's), at most at once
    lava_processes: int = 0          # Lava processes in the network
    fusions: list = field(default_factory=list)   # average pools fused into synapses (``fuse``)
    process_types: dict = field(default_factory=dict)  # {"stock": [...], "custom": [...]} class names


def simulate_graph(graph: Graph, x: np.ndarray, T: int, fixed: bool = False, stock: bool = False,
                   weight_bits: int = 8) -> LavaRun:
    """Build, run and read back the Lava network (call inside a watchdog worker)."""
    from snnc.runtime.lava.sigma_delta import is_sigma_delta, simulate_sd_graph
    if is_sigma_delta(graph):  # stock SigmaDelta neurons (``sigma_delta``); --stock-lif changes nothing there
        return simulate_sd_graph(graph, x, T, fixed, weight_bits)
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from snnc.compiler.execute import run as ann_run
    kit = STOCK if stock else CUSTOM
    plan = make_plan(graph, NumberFormat(fixed, weight_bits, stock))
    source, graph, num = graph, plan.graph, number_format(plan)
    n = len(x)
    values = ann_run(graph, x, keep=plan.frontier)
    ctx = Ctx(graph, T, n, num, kit, plan, steps=total_steps(n, T, 2 * len(graph) + kit.latency))
    ctx.cache["fanout"] = fanout_maps(source)  # SOPs of the network as compiled (as the NumPy simulator counts)
    net = lower_graph(ctx, {k: values[k] for k in plan.frontier})
    steps = total_steps(n, T, net.max_depth + kit.latency)
    log.info("Lava: %d processes, pipeline depth %d, %d steps", len(net.procs), net.max_depth, steps)
    net.procs[0].run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=num.tag))
    try:
        trace = num.logits(net.readout_name, net.read_trace(), lava=True)
        counts = {k: read() for k, read in net.counters.items()}
        sat = {k: int(p.sat.get()[0]) for k, p in net.neurons.items() if hasattr(p, "sat")}
    finally:
        net.procs[0].stop()
    neurons = {k: int(np.prod(graph.node(k).shape)) for k in net.counters}
    if trace.ndim == 5:  # (n, T, W, H, C) map readout -> IR layout
        trace = trace.transpose(0, 1, 4, 3, 2)
    return LavaRun(trace, {k: c[0] for k, c in counts.items()}, {k: c[1] for k, c in counts.items()}, neurons,
                   steps, sat, num.report(), lava_processes=len(net.procs), fusions=list(plan.fusions),
                   process_types=_process_types(net.procs))


def _process_types(procs) -> dict:
    """{"stock": [lava-nc process classes], "custom": [snnc process classes]} used by the run."""
    kinds: dict = {"stock": set(), "custom": set()}
    for p in procs:
        kinds["custom" if type(p).__module__.startswith("snnc.") else "stock"].add(type(p).__name__)
    return {k: sorted(v) for k, v in kinds.items()}


def run_lava(graph: Graph, x: np.ndarray, T: int, fixed: bool = False, stock: bool = False,
             weight_bits: int = 8, timeout: float = 1800.0) -> LavaRun:
    """``simulate_graph`` under the watchdog (hang or crash -> SimulationError, no orphans)."""
    from snnc.runtime.lava.watchdog import run_isolated
    x = np.asarray(x, np.float32)
    from snnc.runtime.lava.sigma_delta import CHUNK, is_sigma_delta, run_chunks
    if is_sigma_delta(graph) and len(x) > CHUNK:   # fresh state every CHUNK samples (sd_numerics: the drift)
        return run_chunks(lambda xc: run_lava(graph, xc, T, fixed, stock, weight_bits, timeout), x)
    res, info = run_isolated(simulate_graph, (graph, x, T, fixed, stock, weight_bits), timeout=timeout)
    res.seconds, res.processes = info.seconds, info.max_processes
    return res
