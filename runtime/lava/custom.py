"""The custom-process kit (default mode): the processes of ``snnc.runtime.lava_procs``.

* input: ``CurrentSource``, the host-computed current of each sample (depth 0);
* neurons: ``IntegrateFire`` (reset by subtraction, v >= theta, v(0) = v_init);
* spike counts: ``SpikeCounter`` (spikes and SOPs per local step, summed over samples);
* readout: ``Readout`` (the output current of every sample and step);
* residual alignment: ``Delay``; max pools over currents: ``MaxPoolCurrent``.

They run on the host CPU in simulation (Python ProcessModels), not on Loihi cores.
"""
from __future__ import annotations

import numpy as np

from snnc.runtime.lava.lower import Ctx, Kit, Signal, batch_to_lava, connect, to_lava



def inject(ctx: Ctx, name: str, values) -> Signal:
    from snnc.runtime.lava_procs.source import CurrentSource
    table = ctx.num.currents(ctx.sink(name), batch_to_lava(values), lava=True)
    src = ctx.add(CurrentSource(table=table, T=ctx.T, name=f"host:{name}"))
    return Signal([src.a_out], 0, table.shape[1:], "current")


def neuron(ctx: Ctx, node, sig: Signal, bias):
    from snnc.runtime.lava_procs.if_neuron import IntegrateFire
    vth, v0 = ctx.num.neuron(node)
    return IntegrateFire(shape=sig.shape, vth=vth, bias=bias, v_init=v0, T=ctx.T, depth=sig.depth,
                         n=ctx.n, reset=node.op.reset, name=node.name)


def count(ctx: Ctx, node, proc, sig: Signal, fanout: np.ndarray):
    from snnc.runtime.lava_procs.counter import SpikeCounter
    counter = ctx.add(SpikeCounter(shape=sig.shape, fanout=to_lava(fanout).astype(np.int64), T=ctx.T,
                                   depth=sig.depth, n=ctx.n, name=f"count:{node.name}"))
    proc.s_out.connect(counter.s_in)
    return lambda: (counter.spikes.get().astype(np.int64), counter.sops.get().astype(np.int64))


def readout(ctx: Ctx, name: str, sig: Signal, bias):
    from snnc.runtime.lava_procs.readout import Readout
    ro = ctx.add(Readout(shape=sig.shape, bias=bias, T=ctx.T, depth=sig.depth, n=ctx.n, name=f"readout:{name}"))
    connect(sig, ro.a_in)
    return ro.trace.get


def delay(ctx: Ctx, sig: Signal, k: int, label: str) -> Signal:
    from snnc.runtime.lava_procs.delay import Delay
    ports = []
    for p in sig.ports:
        d = ctx.add(Delay(shape=sig.shape, k=k, name=f"delay:{label}"))
        p.connect(d.a_in)
        ports.append(d.a_out)
    return Signal(ports, sig.depth + k, sig.shape, sig.kind, sig.bias)


def maxpool(ctx: Ctx, node, sig: Signal) -> Signal:
    from snnc.runtime.lava.lower import pending_bias
    from snnc.runtime.lava_procs.pool import MaxPoolCurrent
    op = node.op
    geometry = dict(kernel=tuple(op.kernel), stride=tuple(op.stride), padding=tuple(op.padding),
                    dilation=tuple(op.dilation), out_hw=tuple(node.shape[1:]))
    pool = ctx.add(MaxPoolCurrent(in_shape=sig.shape, out_shape=to_lava(np.empty(node.shape)).shape,
                                  geometry=geometry, mode=op.mode, T=ctx.T, depth=sig.depth, n=ctx.n,
                                  name=node.name))
    connect(sig, pool.a_in)
    bias = None if sig.bias is None else pending_bias(node, sig.bias[:, 0, 0])
    return Signal([pool.a_out], sig.depth, tuple(pool.a_out.shape), "current", bias)


CUSTOM = Kit("custom", inject, neuron, count, readout, delay, maxpool)
