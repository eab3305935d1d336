"""Sigma-delta networks (``SigmaDeltaNeuron`` layers) on Lava: stock ``lava.proc.sdn.SigmaDelta`` neurons.

The network is the custom-mode lowering (``lower``: host prefix, Conv / Dense,
residual delays, max pools over currents) with each ``SigmaDeltaNeuron`` a
stock ``SigmaDelta`` (act_mode RELU, arithmetic in ``sd_numerics``) whose
graded payloads drive the next synapses (24-bit messages). Nothing is reset
between samples (``SigmaDelta`` has no reset): the samples stream through one
run, T steps each, and every process is time-invariant:

* input: a stock ``io.source.RingBuffer`` sends the host-computed current of
  the first layer once per sample, as its change from the previous sample
  (the SDNN input is delta-encoded); the sigma stage integrates it;
* max pools: ``MaxPoolCurrent`` in cumulative mode over the whole run (the max
  of the running sums, one window: no reset), residual alignment: ``Delay``;
* graded-spike counts: ``SpikeCounter`` (non-zero payloads and their fan-out
  per local step), the only snnc processes besides pools and delays;
* readout: a stock ``io.sink.RingBuffer`` on the last synapse; the host adds
  up its input (the readout's sigma) and the bias.

The readout of sample s at local step tau is the network's response to its
input alone only up to the state left by the samples before it (residues and,
in fixed point, the dropped low bits, which drift: ``run_lava`` starts a new
run every ``sd_numerics.CHUNK`` samples): ``sd_reference`` runs the same stream
in NumPy, and the tests compare the two bit for bit in fixed point.
Deviations from ``snnc simulate`` (the B-bit quantised ANN) are in
docs/algorithms.md (section sigma-delta, "On Lava").
"""
from __future__ import annotations

import logging

import numpy as np

from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph, Node, SigmaDeltaNeuron
from snnc.runtime.lava.lower import Ctx, Kit, Signal, batch_to_lava, connect, lowers, lower_graph, pending_bias, \
    to_lava
from snnc.runtime.lava.custom import count
from snnc.runtime.lava.sd_numerics import CHUNK, sd_numbers, sd_plan
from snnc.runtime.lava.timing import total_steps

log = logging.getLogger(__name__)


def is_sigma_delta(graph: Graph) -> bool:
    return any(isinstance(n.op, SigmaDeltaNeuron) for n in graph)


def deltas(values: np.ndarray, T: int, steps: int) -> np.ndarray:
    """(n, *shape) per-sample values -> (*shape, steps): the change at each sample's first step, else 0."""
    v = np.asarray(values)
    d = np.diff(v, axis=0, prepend=np.zeros_like(v[:1]))
    data = np.zeros(v.shape[1:] + (steps,), v.dtype)
    data[..., 0:len(v) * T:T] = np.moveaxis(d, 0, -1)
    return data


def inject(ctx: Ctx, name: str, values) -> Signal:
    from lava.proc.io.source import RingBuffer
    cur = ctx.num.currents(ctx.sink(name), batch_to_lava(values))
    src = ctx.add(RingBuffer(data=deltas(cur, ctx.T, ctx.steps)))
    return Signal([src.s_out], 0, cur.shape[1:], "current")


@lowers(SigmaDeltaNeuron)
def lower_sigma_delta(ctx: Ctx, node: Node) -> Signal:
    from lava.proc.sdn.process import ActivationMode, SigmaDelta
    if not is_sd_ctx(ctx):
        raise BackendError(f"SigmaDeltaNeuron {node.name!r} in a network lowered for binary spikes")
    sig = ctx.inp(node)
    if sig.kind != "current":
        raise BackendError(f"SigmaDeltaNeuron {node.name!r} must integrate a current (a synapse's output), but its "
                           f"input carries {sig.kind} values")
    bias = np.zeros(node.shape) if sig.bias is None else sig.bias
    sd = ctx.add(SigmaDelta(shape=tuple(sig.shape), act_mode=ActivationMode.RELU, cum_error=False,
                            name=node.name, **ctx.num.sd_params(node, to_lava(bias))))
    connect(sig, sd.a_in)
    ctx.net.counters[node.name] = count(ctx, node, sd, sig, ctx.cache["fanout"][node.name])
    ctx.net.neurons[node.name] = sd
    return Signal([sd.s_out], sig.depth, sig.shape, "graded")


def is_sd_ctx(ctx: Ctx) -> bool:
    return ctx.kit.name == "sigma-delta"


def readout(ctx: Ctx, name: str, sig: Signal, bias):
    """A sink on the output synapse; the host sums it over the run: sigma(t) + bias."""
    from lava.proc.io.sink import RingBuffer
    sink = ctx.add(RingBuffer(shape=tuple(sig.shape), buffer=ctx.steps))
    connect(sig, sink.a_in)

    def read():
        a = np.asarray(sink.data.get())
        a = np.rint(a).astype(np.int64) if ctx.num.fixed else a
        a = np.cumsum(a, axis=-1)[..., sig.depth:sig.depth + ctx.n * ctx.T]
        return np.moveaxis(a.reshape(a.shape[:-1] + (ctx.n, ctx.T)), (-2, -1), (0, 1)) + bias
    return read


def delay(ctx: Ctx, sig: Signal, k: int, label: str) -> Signal:
    from snnc.runtime.lava.custom import delay as custom_delay
    return custom_delay(ctx, sig, k, label)


def maxpool(ctx: Ctx, node, sig: Signal) -> Signal:
    """The cumulative pool over the whole run (one window from step 1, no reset, so it also sums what arrives
    before the first wave, e.g. the payloads of biases), like the sigma stages it feeds."""
    from snnc.runtime.lava_procs.pool import MaxPoolCurrent
    op = node.op
    if op.mode != "cumulative":
        raise BackendError(f"MaxPool2d {node.name!r}: a sigma-delta network pools the running sums (cumulative "
                           f"mode); this pool is {op.mode!r} on a time-varying current")
    geometry = dict(kernel=tuple(op.kernel), stride=tuple(op.stride), padding=tuple(op.padding),
                    dilation=tuple(op.dilation), out_hw=tuple(node.shape[1:]))
    pool = ctx.add(MaxPoolCurrent(in_shape=sig.shape, out_shape=to_lava(np.empty(node.shape)).shape,
                                  geometry=geometry, mode="cumulative", T=ctx.steps, depth=0, n=1,
                                  name=node.name))
    connect(sig, pool.a_in)
    bias = None if sig.bias is None else pending_bias(node, sig.bias[:, 0, 0])
    return Signal([pool.a_out], sig.depth, tuple(pool.a_out.shape), "current", bias)


def _no_if(ctx, node, sig, bias):
    raise BackendError(f"IFNeuron {node.name!r} in a sigma-delta network: Lava runs one neuron kind per network")


SIGMA_DELTA = Kit("sigma-delta", inject, _no_if, count, readout, delay, maxpool)


def run_chunks(run, x: np.ndarray, chunk: int = CHUNK):
    """``run`` (one Lava run, fresh state) on at most ``chunk`` samples at a time, the results joined."""
    parts = [run(x[a:a + chunk]) for a in range(0, len(x), chunk)]
    out = parts[0]
    out.trace = np.concatenate([p.trace for p in parts])
    for p in parts[1:]:
        for k in out.spikes:
            out.spikes[k] = out.spikes[k] + p.spikes[k]
            out.sops[k] = out.sops[k] + p.sops[k]
        out.seconds += p.seconds
        out.steps += p.steps
        out.processes = max(out.processes, p.processes)
    return out


def simulate_sd_graph(graph: Graph, x: np.ndarray, T: int, fixed: bool = False, weight_bits: int = 8):
    """Build, run and read back the sigma-delta network (call inside a watchdog worker) -> ``runner.LavaRun``."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from snnc.compiler.execute import run as ann_run
    from snnc.runtime.lava.runner import LavaRun, _process_types
    plan = sd_plan(graph, fixed, weight_bits)
    num, g, n = sd_numbers(plan), plan.graph, len(x)
    values = ann_run(g, np.asarray(x, np.float32), keep=plan.frontier)
    ctx = Ctx(g, T, n, num, SIGMA_DELTA, plan, steps=total_steps(n, T, 2 * len(g)))
    ctx.cache["fanout"] = fanout_maps(graph)
    net = lower_graph(ctx, {k: values[k] for k in plan.frontier})
    steps = total_steps(n, T, net.max_depth)
    log.info("Lava sigma-delta: %d processes, pipeline depth %d, %d steps", len(net.procs), net.max_depth, steps)
    net.procs[0].run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=num.tag))
    try:
        trace = num.logits(net.readout_name, net.read_trace(), lava=True)
        counts = {k: read() for k, read in net.counters.items()}
    finally:
        net.procs[0].stop()
    if trace.ndim == 5:
        trace = trace.transpose(0, 1, 4, 3, 2)
    neurons = {k: int(np.prod(g.node(k).shape)) for k in net.counters}
    return LavaRun(trace, {k: c[0] for k, c in counts.items()}, {k: c[1] for k, c in counts.items()}, neurons,
                   steps, {}, num.report(), lava_processes=len(net.procs), fusions=list(plan.fusions),
                   process_types=_process_types(net.procs))
