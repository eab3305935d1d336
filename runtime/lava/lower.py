"""Lower an SNN graph to a Lava process graph, by a table ``{op type: lower function}``.

Layouts: Lava feature maps are (X=W, Y=H, C); vectors keep the IR order. A Conv
weight (O, I, kH, kW) becomes the true-convolution kernel flipped on both
spatial axes and transposed to (O, kW, kH, I); Flatten is a transpose back to
(C, H, W) and a reshape of the port (virtual ports, no process).

Each value is a :class:`Signal`: the Lava out-ports whose sum it is (a residual
Add is several ports into one a_in), its pipeline depth (each Conv/Dense adds
one step), whether it carries binary spikes or currents, and a pending bias.
Biases of synapses are added by the integrating neuron (or readout) every step;
pools and flatten commute with a per-channel bias.

Input injection: the nodes computed from the analog input before the first
neurons (the first Conv/Dense, possibly a pool) run on the host once per
sample and enter through ``CurrentSource`` (depth 0); see ``graphwalk``.
Unsupported ops raise ``BackendError`` naming the node.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph, Node


@dataclass
class Signal:
    ports: list
    depth: int
    shape: tuple           # Lava layout
    kind: str              # "spike" | "current"
    bias: Optional[np.ndarray] = None  # IR layout, full node shape


@dataclass
class Net:
    """What a run needs back: every process built, the counters and the readout."""

    procs: list = field(default_factory=list)
    counters: dict = field(default_factory=dict)   # IFNeuron name -> SpikeCounter
    neurons: dict = field(default_factory=dict)    # IFNeuron name -> IntegrateFire / LIFReset
    readout: object = None
    readout_name: str = ""
    max_depth: int = 0


@dataclass
class Ctx:
    graph: Graph
    T: int
    n: int
    num: object                   # numerics.FloatingPoint | FixedPoint
    neuron_fn: Callable           # builds the neuron process for an IFNeuron node
    signals: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    net: Net = field(default_factory=Net)

    def add(self, proc):
        self.net.procs.append(proc)
        return proc

    def inp(self, node: Node, i: int = 0) -> Signal:
        return self.signals[node.inputs[i]]


def to_lava(a: np.ndarray) -> np.ndarray:
    """IR (C, H, W) -> Lava (W, H, C); vectors unchanged (also for a leading batch axis)."""
    a = np.asarray(a)
    return a.transpose(2, 1, 0) if a.ndim == 3 else a


def batch_to_lava(a: np.ndarray) -> np.ndarray:
    """Batched IR (N, C, H, W) -> (N, W, H, C); (N, F) unchanged."""
    a = np.asarray(a)
    return a.transpose(0, 3, 2, 1) if a.ndim == 4 else a


def connect(sig: Signal, in_port) -> None:
    for p in sig.ports:
        p.connect(in_port)


def pending_bias(node: Node, bias) -> Optional[np.ndarray]:
    if bias is None:
        return None
    b = np.asarray(bias, np.float64)
    return np.broadcast_to(b.reshape((-1,) + (1,) * (len(node.shape) - 1)), node.shape).copy()


LOWER: dict[str, Callable[[Ctx, Node], Signal]] = {}


def lowers(*types):
    def deco(fn):
        for t in types:
            LOWER[t] = fn
        return fn
    return deco


def lower_graph(ctx: Ctx, host_values: dict[str, np.ndarray]) -> Net:
    """Build every process; ``host_values`` holds the host-computed frontier (N, *IR shape)."""
    from snnc.runtime.lava_procs.source import CurrentSource
    from snnc.runtime.lava.graphwalk import current_sinks, host_prefix
    sinks, host = current_sinks(ctx.graph), host_prefix(ctx.graph)
    for name, values in host_values.items():
        table = ctx.num.currents(sinks.get(name, name), batch_to_lava(values))
        src = ctx.add(CurrentSource(table=table, T=ctx.T, name=f"host:{name}"))
        ctx.signals[name] = Signal([src.a_out], 0, table.shape[1:], "current")
    for node in ctx.graph:
        if node.name in ctx.signals or node.name in host:
            continue
        fn = LOWER.get(node.type)
        if fn is None:
            raise BackendError(f"node {node.name!r}: the Lava backend cannot express {node.type} "
                               f"(supported: {', '.join(sorted(LOWER))})")
        sig = fn(ctx, node)
        ctx.signals[node.name] = sig
        ctx.net.max_depth = max(ctx.net.max_depth, sig.depth)
    _lower_readout(ctx)
    return ctx.net


def _lower_readout(ctx: Ctx) -> None:
    from snnc.runtime.lava_procs.readout import Readout
    name = ctx.graph.outputs[0]
    sig = ctx.signals[name]
    if sig.kind != "current":
        raise BackendError(f"output {name!r} must be the non-spiking readout current, got spikes")
    bias = np.zeros(ctx.graph.node(name).shape) if sig.bias is None else sig.bias
    ro = ctx.add(Readout(shape=sig.shape, bias=ctx.num.bias(name, to_lava(bias)), T=ctx.T,
                         depth=sig.depth, n=ctx.n, name=f"readout:{name}"))
    connect(sig, ro.a_in)
    ctx.net.readout, ctx.net.readout_name = ro, name
