"""Fan-in splitting: partial sums relayed as graded spikes (targets with ``limits.graded_spike_bits > 0``).

A neuron whose inputs do not fit one core (more input axons than ``max_fan_in``, or ``fan_in x
weight_bits`` more than a core's synaptic memory) is computed in two stages:

* its inputs are split by input channel into k groups, k the smallest number for which every group's
  input axons and weights fit one core. Group g is summed by one *relay compartment* per neuron, on
  cores of its own, which forwards its partial sum every step as a graded spike:
  P_g(t) = sum_{i in g} w_i s_i(t);
* the integrating neuron receives the k graded spikes on k unit-weight synapses one step later,
  I(t + 1) = sum_g P_g(t): the same current, **+1 step of pipeline latency** per split layer.

Costs (all reported): k x N relay compartments and their cores, each group tiled by the same tile
search as any layer (:func:`partition._tile_search`; a tile is feasible when its neurons <=
neurons_per_core and <= max_fan_out, since each relay sends one routing edge, neurons x group fan-in x
weight_bits <= synaptic memory, and the input axons of the group's channels <= max_fan_in); the
integrating layer at fan-in k (a tile of n neurons reads n x k relay axons and stores n x k weights);
k x N graded synaptic events and k x N compartment updates every step (partial sums are dense
currents, sent whether or not a spike arrived).

Grouping: the sources the segment reads, in graph order. A source one interior neuron reads across all
its channels (a dense conv, a linear layer through Flatten, a global pool) is divisible by channel:
channel c costs a_s input axons (the spatial size of the source's box for one neuron). A source read
only in part (an elementwise skip, a grouped conv) is one indivisible item. A group of a axons holds
ceil(fan_in x a / A) synapses (A: one neuron's input axons; exact for a conv or linear layer reading
the source directly). The smallest k is the greedy contiguous count under the capacity
min(max_fan_in, the axons whose synapses fit the memory); the groups are then balanced (the smallest
capacity giving k groups). Payload: a partial sum of n binary spikes with b-bit weights needs
b + ceil(log2 n) bits at worst; a warning when that exceeds the graded payload.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from snnc.compiler.hardware.partition import (
    Issue, _centered, _size, _tile_search, input_axons, source_boxes,
)


class NoSplit(Exception):
    """The layer's inputs cannot be split into groups that fit (the reason is the message)."""


@dataclass
class Group:
    inputs: list                 # [{"source", "channels": [lo, hi] or None (all it reads)}]
    axons: int                   # input axons of one relay compartment
    fan_in: int                  # synapses of one relay compartment
    cores: int = 0
    neurons_per_core: int = 0
    axons_per_core: int = 0
    tile: Optional[tuple] = None


@dataclass
class Split:
    k: int                       # partial-sum groups
    reason: str                  # "input axons" or "synaptic memory"
    axons: int                   # input axons of one neuron before the split
    relay_compartments: int      # k x neurons
    relay_cores: int
    graded_events_per_step: int  # k x neurons: one graded spike per relay per step
    payload_bits: int
    partial_sum_bits: int        # worst case of the largest group
    extra_steps: int = 1
    groups: list = field(default_factory=list)

    def brief(self, layer: str) -> dict:
        """The split's costs in one JSON row (``resources.fan_in_splits``)."""
        return {"layer": layer, "k": self.k, "reason": self.reason, "relay_compartments": self.relay_compartments,
                "relay_cores": self.relay_cores, "extra_steps": self.extra_steps,
                "graded_events_per_step": self.graded_events_per_step}

    def relay_neurons_per_core(self) -> int:
        return max(g.neurons_per_core for g in self.groups)

    def source_groups(self, source: str) -> list:
        """The groups that read ``source`` (an index built on first use: one lookup per call, so routing
        over every source of a wide split stays linear)."""
        index = self.__dict__.get("_by_source")
        if index is None:
            index = {}
            for g in self.groups:
                for src in dict.fromkeys(i["source"] for i in g.inputs):
                    index.setdefault(src, []).append(g)
            self.__dict__["_by_source"] = index
        return index.get(source, [])


def _items(graph, starts, seg, shape) -> list:
    """[(source, (lo, hi) or None, axons per unit, units)]: the inputs of one interior neuron."""
    one = tuple(_centered(d, 1) for d in shape)
    boxes = source_boxes(graph, starts, seg, one)
    items = []
    for name in (n.name for n in graph.nodes if n.name in boxes):
        b, s = boxes[name], graph.node(name).shape
        if b[0] == (0, s[0]) and _size(b) > 0:
            items.append((name, (0, s[0]), _size(b[1:]) if len(b) > 1 else 1, s[0]))
        elif _size(b) > 0:
            items.append((name, None, _size(b), 1))
    return items


def _pack(items, cap: int) -> Optional[list]:
    """Greedy contiguous groups of at most ``cap`` axons: [(inputs, axons)], None if one unit exceeds cap."""
    groups, cur, used = [], [], 0
    for src, chans, a, units in items:
        if a > cap:
            return None
        c, end = (chans or (0, 1))
        while c < end:
            m = min(end - c, (cap - used) // a) if chans else (1 if used + a <= cap else 0)
            if m == 0:
                groups.append((cur, used))
                cur, used = [], 0
                continue
            cur.append({"source": src, "channels": [c, c + m] if chans else None})
            used, c = used + m * a, c + m
    return groups + ([(cur, used)] if cur else [])


def _groups(items, total: int, cap: int) -> list:
    """The fewest groups, balanced: the smallest capacity that still gives that many."""
    fewest = _pack(items, cap)
    if fewest is None:
        worst = max(items, key=lambda i: i[2])
        raise NoSplit(f"one input channel of {worst[0]!r} alone needs {worst[2]:,} input axons > {cap:,}")
    k, lo, hi = len(fewest), -(-total // len(fewest)), cap
    while lo < hi:
        mid = (lo + hi) // 2
        got = _pack(items, mid)
        lo, hi = (lo, mid) if got is not None and len(got) <= k else (mid + 1, hi)
    return _pack(items, lo)


def _tile_group(graph, layer, seg, starts, shape, g: Group, limits: dict) -> None:
    only = {i["source"]: (tuple(i["channels"]) if i["channels"] else None) for i in g.inputs}

    def axons(tile):
        return input_axons(graph, starts, seg, tuple(_centered(d, t) for d, t in zip(shape, tile)), only)

    def feasible(tile):
        n = math.prod(tile)
        return (n <= limits["neurons_per_core"] and n <= limits["max_fan_out"] and axons(tile) <= limits["max_fan_in"]
                and n * g.fan_in * limits["weight_bits"] <= limits["synaptic_memory_per_core"])

    found = _tile_search(shape, feasible)
    if found is None:
        raise NoSplit(f"a relay compartment of {g.axons:,} input axons does not fit a core")
    g.cores, g.tile = found
    g.neurons_per_core, g.axons_per_core = math.prod(g.tile), axons(g.tile)


def _integrating_tile(shape, k: int, limits: dict):
    """Tile the integrating neurons: a tile of n neurons reads n x k relay axons and stores n x k weights."""
    def feasible(tile):
        n = math.prod(tile)
        return (n <= limits["neurons_per_core"] and n * k <= limits["max_fan_in"]
                and n * k * limits["weight_bits"] <= limits["synaptic_memory_per_core"])
    return _tile_search(shape, feasible)


def split_fan_in(graph, layer, seg: list, starts, shape, limits: dict) -> list[Issue]:
    """Split ``layer`` (one neuron of which fits no core) into k partial sums relayed as graded spikes.

    Fills ``layer.split`` and the layer's figures (cores = integrating + relay cores; neurons / axons /
    memory per core of the integrating cores; memory_bits + k x N unit weights); returns the warnings.
    Raises :class:`NoSplit` when no grouping fits."""
    if len(shape) != len(layer.shape):
        raise NoSplit(f"its inputs cannot be grouped by channel (a layer of shape {tuple(layer.shape)})")
    mem, axmax, bits = limits["synaptic_memory_per_core"], limits["max_fan_in"], limits["weight_bits"]
    items = _items(graph, starts, seg, shape)
    total = sum(a * units for _, _, a, units in items)
    cap = min(axmax, (mem // bits) * total // layer.fan_in) if layer.fan_in else axmax
    if cap < 1 or not items:
        raise NoSplit("not even one input channel's synapses fit a core's synaptic memory")
    groups = [Group(inputs, a, -(-layer.fan_in * a // total)) for inputs, a in _groups(items, total, cap)]
    for g in groups:
        _tile_group(graph, layer, seg, starts, shape, g, limits)
    k = len(groups)
    integ = _integrating_tile(shape, k, limits)
    if integ is None:
        raise NoSplit(f"an integrating neuron's {k} graded inputs do not fit a core")
    relay_cores = sum(g.cores for g in groups)
    n = math.prod(integ[1])
    psum = bits + math.ceil(math.log2(max(max(g.fan_in for g in groups), 2)))
    layer.split = Split(k, "input axons" if total > axmax else "synaptic memory", total, k * layer.neurons,
                        relay_cores, k * layer.neurons, limits["graded_spike_bits"], psum, groups=groups)
    layer.cores, layer.tile = integ[0] + relay_cores, integ[1]
    layer.neurons_per_core, layer.axons_per_core, layer.memory_per_core = n, n * k, n * k * bits
    layer.memory_bits += k * layer.neurons * bits
    why = (f"fan-in {total:,} > {axmax:,}" if total > axmax else
           f"fan-in {layer.fan_in:,} synapses x {bits} bit > {mem:,} bit of synaptic memory per core")
    issues = [Issue("warning", layer.name,
                    f"layer {layer.name!r}: {why}: split into {k} partial sums relayed as graded spikes "
                    f"(+{k * layer.neurons:,} compartments on +{relay_cores:,} cores, +1 step latency); "
                    f"the integrating neurons take {k} graded inputs each, on {integ[0]:,} cores")]
    if psum > limits["graded_spike_bits"]:
        issues.append(Issue("warning", layer.name,
                            f"layer {layer.name!r}: a partial sum of up to {max(g.fan_in for g in groups):,} "
                            f"{bits}-bit weights needs up to {psum} bit > the {limits['graded_spike_bits']}-bit "
                            "graded payload: large partial sums saturate"))
    return issues


def split_depth(graph, split: set) -> int:
    """Most split layers on one input -> output path: the steps their relays add to the pipeline."""
    depth: dict = {}
    for n in graph.nodes:
        depth[n.name] = max((depth[i] for i in n.inputs), default=0) + (n.name in split)
    return max((depth[o] for o in graph.outputs), default=0)


def describe_splits(layers, extra_steps: int) -> str:
    """One line of the resource table: every split layer, its k and relay cost, and the steps added."""
    return ("fan-in splits (partial sums relayed as graded spikes; cores include the relays): "
            + ", ".join(f"{l.name} (k={l.split.k}, +{l.split.relay_compartments:,} compartments on "
                        f"+{l.split.relay_cores:,} cores)" for l in layers if l.split)
            + f"; +{extra_steps} pipeline step(s) on the longest path")
