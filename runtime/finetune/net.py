"""The fine-tuning methods' view of the torch simulator (``snnc.runtime.torch_sim.SpikingNet``).

Four calls: ``run_snn`` (T steps with a spike function; readout currents and,
on request, spikes per neuron), ``run_ann`` (the weight-shared ANN branch with
an activation per IF layer, called with the layer's name), ``scale_input``
(multiply every synapse feeding an IF layer, the folded form of changing its
threshold) and ``build`` (a ``SpikingNet`` of an artifact's graph, with a
clear error for ops the torch backend cannot run).
"""
from __future__ import annotations

from typing import Callable

import torch

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph, IFNeuron, Input
from snnc.runtime.torch_sim.net import SpikingNet
from snnc.runtime.torch_sim.neurons import heaviside

__all__ = ["build", "run_snn", "run_ann", "scale_input", "neuron_names", "heaviside", "input_synapses"]



def _synapse(node) -> bool:
    """An op with synaptic weights (trait ``weight_field``): Conv2d, Linear, ChannelAffine."""
    return node.op.weight_field is not None


def _pass_through(node) -> bool:
    """A spiking op without weights that is no neuron (pools, add, flatten, reshape, concat, ...)."""
    return node.op.spiking and node.op.weight_field is None and not isinstance(node.op, (IFNeuron, Input))


def build(graph: Graph, device: str = "cpu", dtype=torch.float32) -> SpikingNet:
    """A ``SpikingNet`` (float32 by default); BackendError naming the op when the torch backend cannot run one."""
    for n in graph.nodes:
        if n.type == "IFNeuron" and n.op.reset != "subtract":
            raise BackendError(f"IF layer {n.name!r} resets to zero; fine-tuning trains the reset-by-subtraction "
                               f"network (recompile with --reset subtract)")
    from snnc.runtime.torch_sim.device import resolve_device
    return SpikingNet(graph, dtype=dtype, device=resolve_device(device))


def neuron_names(graph: Graph) -> list:
    """The IF layers in graph order (the order ``SpikingNet.ann_forward`` visits them)."""
    return [n.name for n in graph.nodes if n.type == "IFNeuron"]


def run_snn(net: SpikingNet, x, T: int, spike_fn: Callable, counts: bool = False):
    """(readout currents (T, N, K), {IF layer: spike counts (N, *shape)} or None) of T steps."""
    net.spike_fn = spike_fn
    res = net(x, T, record=("counts",) if counts else ())
    return res.output, (res.counts if counts else None)


def run_ann(net: SpikingNet, x, act: Callable) -> torch.Tensor:
    """The ANN branch's readout with IF layer ``name``'s activation ``act(name, z)``."""
    names = iter(neuron_names(net.graph))
    return net.ann_forward(x, activation=lambda z, theta: act(next(names), z))


def input_synapses(graph: Graph, neuron: str) -> list:
    """The synaptic nodes whose output reaches IF layer ``neuron``'s input current through linear,
    positively homogeneous ops only (pools, adds, reshapes); BackendError when one also feeds another
    IF layer or the readout (its scale could not change for this layer alone)."""
    found, stack, seen = [], [graph.node(neuron).inputs[0]], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if _synapse(node):
            found.append(name)
        elif _pass_through(node):
            stack.extend(node.inputs)
        else:
            raise BackendError(f"cannot rescale the input of IF layer {neuron!r}: it passes through "
                               f"{node.type} node {name!r}")
    for name in found:
        for c in _downstream_targets(graph, name):
            if c != neuron:
                raise BackendError(f"synapse {name!r} feeds both {neuron!r} and {c!r}; its threshold "
                                   f"cannot be adjusted alone")
    return sorted(found)


def _downstream_targets(graph: Graph, name: str) -> set:
    out, stack = set(), [name]
    while stack:
        for c in graph.consumers(stack.pop()):
            if _pass_through(c):
                stack.append(c.name)
            else:
                out.add(c.name)
    return out or {graph.outputs[0]}


@torch.no_grad()
def scale_input(net: SpikingNet, graph: Graph, neuron: str, factor: float) -> None:
    """Multiply the weights and biases (scales and shifts) of every synapse feeding ``neuron`` by
    ``factor`` > 0: the same spikes as dividing its threshold (and v(0)) by ``factor``."""
    for name in input_synapses(graph, neuron):
        mod = net.module(name)
        for p in (getattr(mod, k, None) for k in ("weight", "bias", "scale", "shift")):
            if p is not None:
                p.mul_(factor)
