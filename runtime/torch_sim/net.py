"""``SpikingNet``: a compiled spiking IR graph as a ``torch.nn.Module`` (simulation, BPTT, weight-shared ANN).

Evaluation order is the NumPy simulator's (``snnc.runtime.numpy_sim.simulate``):
the nodes constant in time (``static_nodes``: the input and the dense prefix
before the first neuron) are computed once per call on (N, *shape); every other
node runs once per call on all T steps as one (T * N, *shape) batch, t-major;
an IF layer scans its T steps; a cumulative max pool pools the running sums.
State (membranes, pool sums) carries between calls through ``state=``, so a
long run can be cut into time chunks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from snnc.compiler.errors import BackendError, DataError
from snnc.compiler.ir import Graph, IFNeuron, Input, SigmaDeltaNeuron, static_nodes
from snnc.runtime.torch_sim.lowering import LOWERING
from snnc.runtime.torch_sim.neurons import IFLayer, SigmaDeltaLayer, cumulative_pool, fast_layout, heaviside

RECORDS = ("spikes", "counts", "membrane")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class RunResult:
    """One call of ``SpikingNet(x, T)``.

    ``output``: readout currents I_L(t), (T, N, *out_shape); ``spikes_per_step`` / ``sop_per_step``:
    {layer: (T,) float64} summed over the batch (detached; SOPs = spikes x fan-out, exact);
    ``counts``: {layer: (N, *shape)} spikes per neuron over the T steps (differentiable with a
    surrogate spike function); ``spikes``: {layer: (T, N, *shape)}; ``membrane``: {layer: v(T)};
    ``state``: pass as ``state=`` to continue the run for more steps.

    A sigma-delta network (``SigmaDeltaNeuron`` layers): ``spikes_per_step`` / ``sop_per_step`` count
    graded spikes (non-zero payloads s(t)) and graded ops (their fan-out); ``counts`` graded spikes per
    neuron; ``spikes`` the payloads s(t) themselves; ``membrane`` sigma(T), the layer's input at the
    last step; ``payloads``: {layer: (2^B,) int64} histogram of |s(t)| over the chunk (index 0 unused)."""

    output: torch.Tensor
    spikes_per_step: dict
    sop_per_step: dict
    counts: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)
    membrane: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    payloads: dict = field(default_factory=dict)


def _key(i: int, name: str) -> str:
    return f"n{i}_" + re.sub(r"[^0-9A-Za-z_]", "_", name)


def check_supported(graph: Graph) -> None:
    """BackendError naming the first node whose op the torch backend cannot run."""
    for n in graph.nodes:
        if type(n.op) not in LOWERING and not isinstance(n.op, (Input, IFNeuron)):
            raise BackendError(f"the torch backend cannot run node {n.name!r}: op {n.type} has no torch "
                               f"lowering (supported: {', '.join(sorted(c.__name__ for c in LOWERING))}, IFNeuron, "
                               f"SigmaDeltaNeuron)")
    kinds = {n.type for n in graph.nodes if isinstance(n.op, IFNeuron)}    # IFNeuron and its SigmaDeltaNeuron
    if len(kinds) > 1:
        raise BackendError(f"the graph mixes {' and '.join(sorted(kinds))} layers; a network is either binary IF "
                           f"or sigma-delta (compile it with one --neuron)")
    if len(graph.inputs) != 1:
        raise BackendError(f"the torch backend drives one analog input; the graph has {len(graph.inputs)} inputs")


class SpikingNet(nn.Module):
    """A spiking IR graph as a module. ``net(x, T)`` simulates; ``ann_forward`` evaluates the same
    parameters as an ANN; ``to_graph`` writes the parameters back into a new IR graph."""

    def __init__(self, graph: Graph, *, dtype=torch.float32, device="cpu", spike_fn: Callable = heaviside,
                 learn_threshold: bool = False, reset: Optional[str] = None):
        """``reset``: None keeps every IF layer's own reset rule; "subtract" or "zero" sets it for all
        (``to_graph`` then writes that rule). Pool modes always come from the graph."""
        super().__init__()
        check_supported(graph)
        if reset not in (None, "subtract", "zero"):
            raise ValueError(f"reset must be None, 'subtract' or 'zero', got {reset!r}")
        dtype = DTYPES.get(dtype, dtype)
        self.graph, self.dtype, self.spike_fn = graph, dtype, spike_fn
        self.keys = {n.name: _key(i, n.name) for i, n in enumerate(graph.nodes)}
        mods = {}
        for n in graph.nodes:
            if n.type == "IFNeuron":
                mods[self.keys[n.name]] = IFLayer(n.op if reset is None else replace(n.op, reset=reset), dtype,
                                                  learn_threshold)
            elif n.type == "SigmaDeltaNeuron":
                mods[self.keys[n.name]] = SigmaDeltaLayer(n.op, dtype)
            elif n.type != "Input":
                mods[self.keys[n.name]] = LOWERING[type(n.op)](n.op, n, graph, dtype)
        self.layers = nn.ModuleDict(mods)
        self.static = frozenset(static_nodes(graph))
        self.dynamic = tuple(n for n in graph.nodes if n.name not in self.static)
        self.neurons = [n.name for n in self.dynamic if isinstance(n.op, IFNeuron)]
        self.sigma_delta = any(isinstance(n.op, SigmaDeltaNeuron) for n in graph.nodes)
        # a sigma-delta layer sends values (the receivers' sums), so every max pool pools them directly:
        # the max of the running sums, which is what a cumulative pool of the changes would give
        self.cumulative = set() if self.sigma_delta else {
            n.name for n in self.dynamic if n.type == "MaxPool2d" and n.op.mode == "cumulative"}
        self.readout = graph.outputs[0]
        self.last_use = {s: i for i, n in enumerate(self.dynamic) for s in n.inputs}
        self._fanout = None
        self.to(device)

    def module(self, name: str) -> nn.Module:
        """The torch module of node ``name``."""
        return self.layers[self.keys[name]]

    @property
    def device(self) -> torch.device:
        return next(iter(self.parameters())).device

    # -- simulation ---------------------------------------------------------------------------
    def _input(self, x) -> torch.Tensor:
        shape = tuple(self.graph.inputs[0].shape)
        x = torch.as_tensor(x).to(device=self.device, dtype=self.dtype)
        if tuple(x.shape[1:]) != shape:
            raise DataError(f"data of shape {tuple(x.shape)} does not match the model input "
                            f"{self.graph.inputs[0].name!r} (need (N, {', '.join(map(str, shape))}))")
        return x

    def _statics(self, x) -> dict:
        values = {}
        for n in self.graph.nodes:
            if n.name in self.static:
                values[n.name] = fast_layout(x) if not n.inputs else self.module(n.name)(*[values[s] for s in n.inputs])
        return values

    def initial_state(self, statics: dict, n: int) -> dict:
        g, st = self.graph, {}
        for name in self.neurons:
            st[name] = self.module(name).start(n, g.node(name).shape)
        for name in self.cumulative:
            node = g.node(name)
            st[name] = tuple(fast_layout(torch.zeros((n,) + s, dtype=self.dtype, device=self.device))
                             for s in (g.node(node.inputs[0]).shape, node.shape))
        return {"statics": statics, "n": n, "layers": st}

    def forward(self, x, T: int, record: Sequence[str] = (), state: Optional[dict] = None) -> RunResult:
        """Simulate T steps of direct-coded input x (N, *in_shape) (from ``state`` when given:
        then x is ignored and the run continues where that state left it)."""
        bad = set(record) - set(RECORDS)
        if bad:
            raise ValueError(f"unknown record {sorted(bad)}; choose from {RECORDS}")
        if state is None:
            x = self._input(x)
            state = self.initial_state(self._statics(x), x.shape[0])
        statics, n, st = state["statics"], state["n"], dict(state["layers"])
        values, res = {}, RunResult(None, {}, {})
        for i, node in enumerate(self.dynamic):
            ins = [values[s] if s in values else _repeat(statics[s], T) for s in node.inputs]
            mod = self.module(node.name)
            if isinstance(node.op, IFNeuron):
                src = node.inputs[0]
                const = src in self.static
                cur = statics[src] if const else values[src].reshape((T, n) + node.shape)
                if node.type == "IFNeuron":
                    xo, s, st[node.name] = mod.scan(st[node.name], cur, T, const, self.spike_fn)
                    self._record(node.name, s, res, record, st[node.name])
                else:
                    xo, s, st[node.name] = mod.scan(st[node.name], cur, T, const)
                    self._record_graded(node.name, mod.bits, s, res, record, cur if const else cur[-1])
                values[node.name] = xo.reshape((T * n,) + node.shape)
            elif node.name in self.cumulative:
                values[node.name], *st[node.name] = cumulative_pool(mod, *st[node.name], ins[0], T)
            else:
                values[node.name] = mod(*ins)
            for s in set(node.inputs):      # free what no later node reads
                if self.last_use.get(s) == i and s in values and s != self.readout:
                    del values[s]
        shape = self.graph.node(self.readout).shape
        out = values[self.readout] if self.readout in values else _repeat(statics[self.readout], T)
        res.output = out.reshape((T, n) + shape)
        res.state = {"statics": statics, "n": n, "layers": st}
        return res

    def _record(self, name, s, res: RunResult, record, v) -> None:
        T, n = s.shape[:2]
        with torch.no_grad():
            per_neuron = _batch_sum(s.detach()).reshape(T, -1).to(torch.float64)      # exact integers
            res.spikes_per_step[name] = per_neuron.sum(1)
            res.sop_per_step[name] = per_neuron @ self.fanout()[name].to(per_neuron.device)
        if "counts" in record:
            res.counts[name] = s.sum(0)
        if "spikes" in record:
            res.spikes[name] = s
        if "membrane" in record:
            res.membrane[name] = v

    def _record_graded(self, name, bits, s, res: RunResult, record, sigma) -> None:
        """Graded spikes (s != 0), graded ops (their fan-out) and the payload histogram of a sigma-delta layer."""
        with torch.no_grad():
            sent = s != 0
            self._record(name, sent.to(s.dtype), res, (), None)
            res.payloads[name] = torch.bincount(s[sent].abs().long().reshape(-1), minlength=2 ** bits).cpu()
            if "counts" in record:
                res.counts[name] = sent.sum(0)
        if "spikes" in record:
            res.spikes[name] = s
        if "membrane" in record:
            res.membrane[name] = sigma

    def fanout(self) -> dict:
        """{layer: F flattened (float64)}: synapses each neuron drives (``snnc.compiler.analysis.sop``),
        from the graph the net was built from (SOPs depend only on which weights are nonzero)."""
        if self._fanout is None:
            from snnc.compiler.analysis.sop import fanout_maps
            self._fanout = {k: torch.tensor(np.array(f, np.float64).reshape(-1))
                            for k, f in fanout_maps(self.graph).items()}
        return self._fanout

    # -- the weight-shared ANN ----------------------------------------------------------------
    def ann_forward(self, x, activation: Union[str, Callable] = "clip", layers: bool = False):
        """The same parameters as an ANN: every IFNeuron as clip(z, 0, theta) ("clip", the clip-ANN),
        ReLU ("relu") or ``activation(z, theta)``; max pools of either mode pool z. Returns the readout
        (N, *out_shape), and with ``layers=True`` also {IF layer: its activation}. BackendError on a
        sigma-delta graph (its ANN is the B-bit quantised one, ``snnc.compiler.execute.predict``)."""
        if self.sigma_delta:
            raise BackendError("ann_forward is the weight-shared ANN of a binary IF network (fine-tuning trains "
                               "IF networks); a sigma-delta network's ANN is its B-bit quantised ANN "
                               "(snnc.compiler.execute.predict on the graph); fine-tune the IF compile")
        act = _ACTIVATIONS[activation] if isinstance(activation, str) else activation
        values, acts = {}, {}
        x = self._input(x)
        for node in self.graph.nodes:
            if node.type == "Input":
                values[node.name] = x
                continue
            ins = [values[s] for s in node.inputs]
            mod = self.module(node.name)
            if node.type == "IFNeuron":
                theta = mod.threshold.reshape((1, -1) + (1,) * (ins[0].ndim - 2))
                values[node.name] = acts[node.name] = act(ins[0], theta)
            else:
                values[node.name] = mod(*ins)
        return (values[self.readout], acts) if layers else values[self.readout]

    # -- back to the IR -----------------------------------------------------------------------
    def to_graph(self) -> Graph:
        """A new IR graph with this module's parameters in fresh frozen ops (same names, shapes, meta)."""
        spec = []
        for n in self.graph.nodes:
            op = n.op
            if n.type == "IFNeuron":
                mod = self.module(n.name)
                op = replace(op, threshold=_np(mod.threshold), v_init=_np(mod.v_init), reset=mod.reset)
            elif type(op) in LOWERING:     # Input and a sigma-delta layer have nothing trainable
                op = self.module(n.name).to_op(op)
            spec.append((n.name, op, n.inputs))
        return Graph.build(spec, self.graph.outputs, self.graph.meta)


def _batch_sum(s: torch.Tensor) -> torch.Tensor:
    """sum over the batch of (T, N, C, H, W) spikes, read in memory order when the maps are channels-last
    (a reduction over N along contiguous (H, W, C) rows is ~7x faster than over the strided NCHW view)."""
    if s.ndim == 5 and s[0].is_contiguous(memory_format=torch.channels_last):
        return s.permute(0, 1, 3, 4, 2).sum(1).permute(0, 3, 1, 2)
    return s.sum(1)


def _np(t):
    return t.detach().cpu().numpy().astype(np.float32)


def _repeat(v: torch.Tensor, T: int) -> torch.Tensor:
    """A static (N, *shape) tensor repeated for T steps as (T * N, *shape)."""
    return v.unsqueeze(0).expand((T,) + v.shape).reshape((T * v.shape[0],) + v.shape[1:])


_ACTIVATIONS = {
    "clip": lambda z, theta: torch.minimum(torch.relu(z), theta),
    "relu": lambda z, theta: torch.relu(z),
}


def readout_logits(output: torch.Tensor, T: int, D: int = 0) -> torch.Tensor:
    """The readout window: mean_{t=D+1..T} I_L(t) of ``output`` (T', N, K), T <= T' (differentiable)."""
    if not 0 <= D < T <= output.shape[0]:
        raise ValueError(f"readout window D={D}, T={T} does not fit a run of {output.shape[0]} steps")
    return output[D:T].mean(0)
