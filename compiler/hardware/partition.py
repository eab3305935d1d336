"""Partition neuron layers onto cores under a profile's limits.

A core holds a *tile* of one layer: ``cb`` channels x ``th`` rows x ``tw``
columns of a (C, H, W) layer, or a block of ``n`` neurons of a vector layer.
A tile is feasible when

* neurons ``cb*th*tw <= neurons_per_core``,
* synaptic memory ``neurons * fan_in * weight_bits <= synaptic_memory_per_core``
  (every neuron at the layer's maximum fan-in: conservative at borders),
* input axons ``<= max_fan_in``: the distinct source elements an interior tile
  reads, from back-propagating the tile's bounding box through the segment
  (the ops' ``box_back`` trait; a superset for dilated or strided windows).

The partitioner takes the feasible tile with the fewest cores (tile sizes
``ceil(D / k)``, largest feasible width by bisection). Then the fan-out check:
a neuron sends one routing edge per destination core, estimated per consumer
layer as ``min(cores_d, ceil(fan_out_d / neurons_per_core_d) + 1)``; when
``neurons_per_core x edges > max_fan_out`` the layer is spread over more cores
(into a layer whose fan-in is split, a neuron's edges go to the relay cores of
the groups that read it).

``layer.bound`` names the rule that set the cores: the tightest of neurons,
synaptic memory and input axons at the chosen tile ("fits one core" when one
does), "fan-out (routing edges)" after a spread, "fan-in split" for a split.
A profile with ``mapping = "lava"`` uses :mod:`.lava_rules` instead, which
falls back to this partitioner for layers it has no rule for.

When not even one neuron fits a core, a target with graded spikes
(``graded_spike_bits > 0``) splits the neuron's inputs into partial sums
relayed as graded spikes (:mod:`snnc.compiler.hardware.fanin`, the same tile
search per group); on a binary-spike target the layer is an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from snnc.compiler.ir import Graph, IFNeuron, Input

Box = tuple  # ((lo, hi), ...) half-open per axis of a node's shape


@dataclass(frozen=True)
class Issue:
    level: str      # "error" or "warning"
    layer: str
    message: str


def _full(shape) -> Box:
    return tuple((0, d) for d in shape)


def _union(a: Box, b: Box) -> Box:
    return b if a is None else tuple((min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b))


def _size(box: Box) -> int:
    return math.prod(max(0, hi - lo) for lo, hi in box)


def source_boxes(graph: Graph, starts, seg: list, box: Box) -> dict:
    """{source node: bounding box of its elements read by the tile ``box``} (sources: IFNeuron / Input)."""
    boxes = {s: box for s in starts}
    for name in reversed(seg):
        node = graph.node(name)
        if node.name not in boxes:
            continue
        shapes = [graph.node(i).shape for i in node.inputs]
        ins = node.op.box_back(boxes[name], shapes, node.shape)
        ins = [_full(s) for s in shapes] if ins is None else ins
        for src, b in zip(node.inputs, ins):
            if b is not None:
                boxes[src] = _union(boxes.get(src), b)
    return {n: b for n, b in boxes.items() if isinstance(graph.node(n).op, (IFNeuron, Input))}


def input_axons(graph: Graph, starts, seg: list, box: Box, only: Optional[dict] = None) -> int:
    """Distinct source elements read by a tile ``box`` of the layer whose segment starts at ``starts``.

    ``only`` {source: (lo, hi) channel range, or None for all it reads}: count those sources only, their
    boxes cut to the channel range (the input group of a fan-in split, :mod:`.fanin`)."""
    if any(hi <= lo for lo, hi in box):
        return 0  # an empty tile reads nothing
    total = 0
    for src, b in source_boxes(graph, starts, seg, box).items():
        if only is not None:
            if src not in only:
                continue
            if only[src] is not None:
                b = ((max(b[0][0], only[src][0]), min(b[0][1], only[src][1])),) + tuple(b[1:])
        total += _size(b)
    return total


def _sizes(n: int) -> list[int]:
    return sorted({-(-n // k) for k in range(1, n + 1)})


def _centered(n: int, size: int) -> tuple:
    lo = max(0, (n - size) // 2)
    return (lo, lo + size)


def _tile_search(shape, feasible):
    """Fewest-cores feasible tile; returns (cores, tile) or None."""
    dims = [_sizes(d) for d in shape]
    best = None
    heads = [[None]] if len(shape) == 1 else [dims[0], dims[1]]
    for head in _product(heads):
        lo, hi = 0, len(dims[-1]) - 1
        if not feasible(head + (dims[-1][0],)):
            continue
        while lo < hi:  # largest feasible last-axis size
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if feasible(head + (dims[-1][mid],)) else (lo, mid - 1)
        tile = head + (dims[-1][lo],)
        cores = math.prod(-(-d // t) for d, t in zip(shape, tile))
        if best is None or cores < best[0]:
            best = (cores, tile)
    return best


def _product(lists):
    if len(lists) == 1 and lists[0] == [None]:
        return [()]
    return [(a, b) for a in lists[0] for b in lists[1]]


def partition(graph: Graph, layer, seg: list, starts, limits: dict) -> list[Issue]:
    """Fill ``layer.cores``/``tile``/per-core figures; return issues (error when nothing fits)."""
    shape = layer.shape if len(layer.shape) in (1, 3) else (layer.neurons,)
    npc, mem, axmax, bits = (limits[k] for k in ("neurons_per_core", "synaptic_memory_per_core",
                                                 "max_fan_in", "weight_bits"))

    def axons(tile):
        box = tuple(_centered(d, t) for d, t in zip(shape, tile))
        return input_axons(graph, starts, seg, box) if len(shape) == len(layer.shape) else layer.fan_in * math.prod(tile)

    def feasible(tile):
        n = math.prod(tile)
        return n <= npc and n * layer.fan_in * bits <= mem and axons(tile) <= axmax

    found = _tile_search(shape, feasible)
    if found is None:
        one = tuple(1 for _ in shape)
        why = (f"one neuron needs {axons(one):,} input axons > max_fan_in {axmax:,}" if axons(one) > axmax else
               f"one neuron's {layer.fan_in:,} synapses x {bits} bit > {mem:,} bit of synaptic memory per core")
        if limits.get("graded_spike_bits", 0) > 0:
            from snnc.compiler.hardware import fanin   # fanin builds on this module's tile search
            try:
                layer.bound = "fan-in split (partial sums)"
                return fanin.split_fan_in(graph, layer, seg, starts, shape, limits)
            except fanin.NoSplit as e:
                why += f", and its inputs cannot be split into partial sums: {e}"
        else:
            why += " (graded_spike_bits 0: binary spikes only, no partial sums relayed as graded spikes)"
        layer.neurons_per_core = min(npc, layer.neurons)   # lower bound, so estimates can still run
        layer.cores = -(-layer.neurons // layer.neurons_per_core)
        layer.memory_per_core = layer.neurons_per_core * layer.fan_in * bits
        return [Issue("error", layer.name, f"layer {layer.name!r} cannot be split to fit a core: {why}; "
                                           "reduce its fan-in (fewer input channels, smaller kernel, "
                                           "grouped conv) or choose a profile with larger cores")]
    layer.cores, layer.tile = found
    n = math.prod(layer.tile)
    layer.neurons_per_core, layer.axons_per_core = n, axons(layer.tile)
    layer.memory_per_core = n * layer.fan_in * bits
    use = {"neurons": n / npc, "synaptic memory": layer.memory_per_core / mem, "input axons": layer.axons_per_core / axmax}
    layer.bound = max(use, key=use.get) if layer.cores > 1 else "fits one core"   # the tightest limit
    return []


def _edges(consumer, source: str) -> int:
    """Routing edges of one ``source`` neuron into ``consumer``: min(cores, ceil(fan-out / neurons per core) + 1),
    over the relay cores of the groups that read it when the consumer's fan-in is split."""
    fan = consumer.source_fan_out[source]
    if consumer.split is None:
        return min(consumer.cores, -(-fan // consumer.neurons_per_core) + 1)
    return max((min(g.cores, -(-fan // g.neurons_per_core) + 1) for g in consumer.split.source_groups(source)),
               default=0)


def fan_out_check(layer, consumers: list, max_fan_out: int) -> list[Issue]:
    """Spread ``layer`` over more cores when its routing edges exceed ``max_fan_out`` per core."""
    if not consumers or layer.cores is None:
        return []
    per_neuron = sum(_edges(c, layer.name) for c in consumers if c.cores)
    if per_neuron > max_fan_out:
        return [Issue("error", layer.name, f"layer {layer.name!r}: one neuron needs {per_neuron} routing edges "
                                           f"> max_fan_out {max_fan_out}; split its consumers differently")]
    npc = max(1, max_fan_out // max(per_neuron, 1))
    if layer.neurons_per_core * per_neuron <= max_fan_out:
        return []
    if layer.memory_per_core is not None:
        layer.memory_per_core = layer.memory_per_core // layer.neurons_per_core * npc
    layer.neurons_per_core, layer.tile, layer.bound = npc, None, "fan-out (routing edges)"
    layer.cores = -(-layer.neurons // npc) + (layer.split.relay_cores if layer.split else 0)
    return [Issue("warning", layer.name, f"layer {layer.name!r} spread over {layer.cores} cores ({npc} neurons "
                                         f"per core) to keep {per_neuron} routing edges per neuron within "
                                         f"max_fan_out {max_fan_out}")]
