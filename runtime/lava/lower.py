"""Lower an SNN graph to a Lava process graph, by a table ``{op class: lower function}``.

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
sample and enter through ``CurrentSource`` (depth 0); see ``snnc.compiler.lower.walk``.
Unsupported ops raise ``BackendError`` naming the node.

The parts that differ between the custom processes and the stock-only mode
(input, neuron, spike counter, readout, branch delay, max pool) come from a
:class:`Kit`: ``custom.CUSTOM`` or ``stock.STOCK``.
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
    kind: str              # "spike" | "current" | "input" (the graded network input, stock mode)
    bias: Optional[np.ndarray] = None  # IR layout, full node shape


@dataclass(frozen=True)
class Kit:
    """Builders of the parts that differ between process sets (each takes the Ctx first).

    inject(name, values (n, *IR shape)) -> Signal;  neuron(node, sig, bias) -> process;
    count(node, neuron, sig, fanout) -> reader() -> (spikes (T,), sops (T,)) summed over samples;
    readout(name, sig, bias) -> reader() -> trace (n, T, *Lava shape) in v units;
    delay(sig, k, label) -> Signal k steps later;  maxpool(node, sig) -> Signal.
    """

    name: str
    inject: Callable
    neuron: Callable
    count: Callable
    readout: Callable
    delay: Callable
    maxpool: Callable
    latency: int = 0          # extra steps after the deepest layer (a counter's own synapse)


@dataclass
class Net:
    """What a run needs back: every process built, the counters and the readout."""

    procs: list = field(default_factory=list)
    counters: dict = field(default_factory=dict)   # IFNeuron name -> reader of (spikes, sops)
    neurons: dict = field(default_factory=dict)    # IFNeuron name -> IntegrateFire / LIFReset
    read_trace: Callable = None                    # reader of the readout trace
    readout_name: str = ""
    max_depth: int = 0


@dataclass
class Ctx:
    graph: Graph
    T: int
    n: int
    num: object                   # numerics.FloatingPoint | FixedPoint
    kit: Kit
    plan: object                  # snnc.compiler.lower.Plan: host prefix, sinks, delays, quantised weights
    steps: int = 0                # length of every source / sink buffer (>= the run's steps)
    signals: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    net: Net = field(default_factory=Net)

    def add(self, proc):
        self.net.procs.append(proc)
        return proc

    def inp(self, node: Node, i: int = 0) -> Signal:
        return self.signals[node.inputs[i]]

    @property
    def host(self) -> frozenset:
        return self.plan.host

    @property
    def delays(self) -> dict:
        return self.plan.delays

    def sink(self, name: str) -> str:
        """The IFNeuron / readout that integrates ``name``'s current (its fixed-point scale)."""
        return self.plan.sinks.get(name, name)


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


LOWER: dict[type, Callable[[Ctx, Node], Signal]] = {}   # op class -> lower function


def lowers(*classes):
    """Register the decorated function as the lowering of the op ``classes``."""
    def deco(fn):
        for c in classes:
            LOWER[c] = fn
        return fn
    return deco


def lower_graph(ctx: Ctx, host_values: dict[str, np.ndarray]) -> Net:
    """Build every process; ``host_values`` holds the host-computed frontier (N, *IR shape)."""
    host = set(host_values) | ctx.host
    for name, values in host_values.items():
        ctx.signals[name] = ctx.kit.inject(ctx, name, values)
    for node in ctx.graph:
        if node.name in ctx.signals or node.name in host:
            continue
        fn = LOWER.get(type(node.op))
        if fn is None:
            raise BackendError(f"node {node.name!r}: the Lava backend cannot express {node.type} "
                               f"(supported: {', '.join(sorted(c.__name__ for c in LOWER))})")
        sig = fn(ctx, node)
        ctx.signals[node.name] = sig
        ctx.net.max_depth = max(ctx.net.max_depth, sig.depth)
    _lower_readout(ctx)
    return ctx.net


def _lower_readout(ctx: Ctx) -> None:
    name = ctx.graph.outputs[0]
    sig = ctx.signals[name]
    if sig.kind != "current":
        raise BackendError(f"output {name!r} must be the non-spiking readout current, got {sig.kind}s")
    bias = np.zeros(ctx.graph.node(name).shape) if sig.bias is None else sig.bias
    ctx.net.read_trace = ctx.kit.readout(ctx, name, sig, ctx.num.bias(name, to_lava(bias), lava=True))
    ctx.net.readout_name = name
