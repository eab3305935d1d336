"""Run an SNN graph on Lava (Loihi2SimCfg) for many samples in one run.

All n samples stream through one process graph, T steps each; every stateful
process restarts its state when its own sample window begins (staggered by
its pipeline depth, like lava-dl netx's reset_interval / reset_offset), so
layer k sees sample s exactly k steps after the host input does, and the
readout's record of sample s is aligned with the NumPy simulator's (which has
no latency). The run happens in a watchdog worker (``watchdog.run_isolated``).

Neurons: ``IntegrateFire`` (reset by subtraction, v >= theta, v(0) = v_init),
or with ``stock=True`` Lava's own ``LIFReset`` (reset to zero, v > vth,
v(0) = 0, du = 4095 / 1.0, dv = 0).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph
from snnc.compiler.analysis.sop import fanout_maps
from snnc.runtime.lava.fuse import fuse_avgpools
from snnc.runtime.lava.graphwalk import host_frontier, host_prefix
from snnc.runtime.lava.lower import Ctx, lower_graph
from snnc.runtime.lava.numerics import FixedPoint, FloatingPoint
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


def if_neuron(ctx: Ctx, node, sig, bias):
    from snnc.runtime.lava_procs.if_neuron import IntegrateFire
    vth, v0 = ctx.num.neuron(node)
    return IntegrateFire(shape=sig.shape, vth=vth, bias=bias, v_init=v0, T=ctx.T, depth=sig.depth,
                         n=ctx.n, reset=node.op.reset, name=node.name)


def stock_lif(ctx: Ctx, node, sig, bias):
    """Lava's LIFReset: reset to zero, v > vth, state cleared at each sample window's start."""
    from lava.proc.lif.process import LIFReset
    vth, _ = ctx.num.neuron(node)
    if np.unique(vth).size != 1:
        raise BackendError(f"IFNeuron {node.name!r}: stock LIF takes one threshold per layer, got per-channel ones")
    common = dict(shape=tuple(sig.shape), dv=0, reset_interval=ctx.T, reset_offset=sig.depth + 1, name=node.name)
    if ctx.num.fixed:
        mant, exp = split_bias(bias)
        return LIFReset(du=4095, vth=int(vth.flat[0]), bias_mant=mant, bias_exp=exp, **common)
    return LIFReset(du=1.0, vth=float(vth.flat[0]), bias_mant=bias, bias_exp=0, **common)


def split_bias(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer bias (mant << exp, as FixedPoint.bias builds it) -> (13-bit mant, 3-bit exp)."""
    mant, exp = np.asarray(b, np.int64).copy(), np.zeros(np.shape(b), np.int64)
    while (big := np.abs(mant) > 4095).any():
        mant[big] >>= 1
        exp[big] += 1
    return mant, exp


def simulate_graph(graph: Graph, x: np.ndarray, T: int, fixed: bool = False, stock: bool = False,
                   weight_bits: int = 8) -> LavaRun:
    """Build, run and read back the Lava network (call inside a watchdog worker)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from snnc.compiler.execute import run as ann_run
    source = graph
    graph, fusions = fuse_avgpools(graph, skip=host_prefix(graph))
    num = FixedPoint(graph, weight_bits) if fixed else FloatingPoint()
    n = len(x)
    frontier = host_frontier(graph, host_prefix(graph))
    values = ann_run(graph, x, keep=frontier)
    ctx = Ctx(graph, T, n, num, stock_lif if stock else if_neuron)
    ctx.cache["fanout"] = fanout_maps(source)  # SOPs of the network as compiled (as the NumPy simulator counts)
    net = lower_graph(ctx, {k: values[k] for k in frontier})
    steps = total_steps(n, T, net.max_depth)
    log.info("Lava: %d processes, pipeline depth %d, %d steps", len(net.procs), net.max_depth, steps)
    net.readout.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=num.tag))
    try:
        trace = num.logits(net.readout_name, net.readout.trace.get())
        spikes = {k: c.spikes.get().astype(np.int64) for k, c in net.counters.items()}
        sops = {k: c.sops.get().astype(np.int64) for k, c in net.counters.items()}
        sat = {k: int(p.sat.get()[0]) for k, p in net.neurons.items() if hasattr(p, "sat")}
    finally:
        net.readout.stop()
    neurons = {k: int(np.prod(graph.node(k).shape)) for k in net.counters}
    if trace.ndim == 5:  # (n, T, W, H, C) map readout -> IR layout
        trace = trace.transpose(0, 1, 4, 3, 2)
    return LavaRun(trace, spikes, sops, neurons, steps, sat, num.report(), lava_processes=len(net.procs),
                   fusions=fusions)


def run_lava(graph: Graph, x: np.ndarray, T: int, fixed: bool = False, stock: bool = False,
             weight_bits: int = 8, timeout: float = 1800.0) -> LavaRun:
    """``simulate_graph`` under the watchdog (hang or crash -> SimulationError, no orphans)."""
    from snnc.runtime.lava.watchdog import run_isolated
    x = np.asarray(x, np.float32)
    res, info = run_isolated(simulate_graph, (graph, x, T, fixed, stock, weight_bits), timeout=timeout)
    res.seconds, res.processes = info.seconds, info.max_processes
    return res
