"""Loihi 2 as Lava maps it (a profile with ``mapping = "lava"``): rules read off Lava's own mappings.

Source: the per-core distribution tables that lava-nc's Loihi 2 compiler prints in lava-dl's netx
PilotNet benchmark notebooks (``tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb``: 74 cores
with the input layer, ``pilotnet_sdnn/benchmark.ipynb``: 61 cores, 1 chip). The per-connection
partitioner (:mod:`.partition`) stores every weight once per connection and bounds every neuron's
routing edges; Lava does neither:

* **convolution (weight sharing)**: a core stores its kernel once, shared by all its neurons (the
  tables' Synapses column: 81-2,880 words for kernels of 648-36,864 weights), and receives its input
  on 1-2 population axons. Neither synaptic memory nor input axons bind; the neuron count does. Lava
  tiles a (C, H, W) layer into all channels x all rows x ``w`` columns, ``w`` a power of two: the
  largest with ``C * H * w <= neurons_per_core`` (PilotNet: 4x32x24, 4x15x36, 8x7x48, 8x4x64,
  16x2x64 and the input's 16x66x3 columns x rows x channels; conv4 at w = 16 and conv5 at w = 32,
  4,096 neurons, were split). Rule "neurons". A core holds the kernels of its output channels,
  ``memory_per_core = channels x I/g x kh x kw x weight_bits``; when all channels' kernels exceed a
  core's synaptic memory (not in the published tables: an extrapolation) or one column exceeds the
  neuron count, a tile holds at most the channels whose kernels fit, tiled by the neuron count
  (:func:`.partition._tile_search`); rule "synaptic memory (shared kernels)".
* **dense synapse encoding**: per input axon, a core stores its ``n`` targets' weights packed in words,
  ``ceil(n x weight_bits / word_bits)`` words per axon (the tables: 100 -> 50 takes 1,300 words, 50 ->
  10 150, 10 -> 1 10: exactly that at 8 bit in 32-bit words), at most
  ``synaptic_memory_per_core / word_bits`` words a core. Lava splits a layer that exceeds it by the
  ratio ``r = ceil(allocation / capacity)`` and checks again, multiplying the ratios (its printed
  "Violation ... SynMem allocation=61440 ... 12000", then "allocation=12800", "Final max_ratio"): the
  2,560 -> 100 layer ends on 6 x 2 = 12 cores of 9 neurons (Lava: 12 cores). Rule "synaptic memory"
  (or "neurons" when the count binds); input axons <= ``max_fan_in``.
* **fan-out**: Lava routes a core's spikes with one axon per destination core (population routing);
  the per-neuron routing-edge bound of :func:`.partition.fan_out_check` is not applied (PilotNet's
  conv5 holds 2,048 neurons a core, each reaching all 12 cores of the dense layer: 24,576 edges,
  unsplit).

A layer of any other kind, or one whose input axons exceed ``max_fan_in``, falls back to the
per-connection partitioner (with its fan-in split on a graded-spike target).
"""
from __future__ import annotations

import math

from snnc.compiler.ir import Linear
from snnc.compiler.hardware.partition import Issue, _tile_search, partition



def kind(graph, layer) -> str:
    """"conv" (weight-shared ops only), "dense" (Linear only) or "other"."""
    ops = [graph.node(n).op for n in layer.ops]
    if ops and all(op.shared_weights for op in ops) and len(layer.shape) == 3:
        return "conv"
    if ops and all(isinstance(op, Linear) for op in ops):
        return "dense"
    return "other"


def _channel_bits(graph, layer, bits: int) -> int:
    """Kernel bits one output channel needs (summed over the layer's weighted ops): I/g x kh x kw x bits a conv."""
    total = 0
    for n in layer.ops:
        op = graph.node(n).op
        if op.weight_field and op.shared_weights:   # one kernel per output channel (traits: a conv, a gain)
            w = getattr(op, op.weight_field)
            total += int(w.size) // max(int(w.shape[0]), 1)
    return total * bits


def _conv(graph, layer, limits: dict) -> list[Issue]:
    c, h, w = layer.shape
    npc, mem = limits["neurons_per_core"], limits["synaptic_memory_per_core"]
    per_ch = _channel_bits(graph, layer, limits["weight_bits"])
    cb = min(c, mem // per_ch) if per_ch else c          # output channels whose kernels fit one core
    if cb < 1:
        return None
    widths = [2 ** k for k in range(w.bit_length() + 1) if c * h * 2 ** k <= npc]
    if cb == c and widths:    # Lava's tiling: all channels x all rows x a power-of-two number of columns
        tile, bound = (c, h, min(widths[-1], w)), "neurons (shared conv weights)"
    else:   # kernels or one column too large: at most cb channels a core, tiled by the neuron count
        tile = _tile_search(layer.shape, lambda t: t[0] <= cb and math.prod(t) <= npc)[1]
        bound = "synaptic memory (shared kernels)" if cb < c else "neurons (shared conv weights)"
    layer.tile = tile
    layer.cores = math.prod(-(-d // t) for d, t in zip(layer.shape, tile))
    layer.neurons_per_core = math.prod(tile)
    layer.axons_per_core = None
    layer.memory_per_core = tile[0] * per_ch
    layer.memory_bits = layer.memory_per_core * layer.cores
    layer.bound = bound if layer.cores > 1 else "fits one core"
    return []


def dense_words(axons: int, n: int, bits: int, word: int) -> int:
    """Synapse words of a core holding ``n`` targets of ``axons`` input axons: axons x ceil(n x bits / word)."""
    return axons * -(-n * bits // word)


def _dense(layer, limits: dict) -> list[Issue]:
    axons, N = layer.fan_in, layer.neurons
    npc, bits, word = limits["neurons_per_core"], limits["weight_bits"], limits["synapse_word_bits"]
    cap = limits["synaptic_memory_per_core"] // word
    if axons > limits["max_fan_in"] or dense_words(axons, 1, bits, word) > cap:
        return None
    ratio, bound = 1, "fits one core"
    while True:
        n = -(-N // ratio)
        words = dense_words(axons, n, bits, word)
        over = max(words / cap, n / npc)
        if over <= 1:
            break
        bound = "synaptic memory (dense words)" if words / cap >= n / npc else "neurons"
        ratio *= math.ceil(over)
    layer.cores, layer.tile = -(-N // n), (n,)
    layer.neurons_per_core, layer.axons_per_core = n, axons
    layer.memory_per_core = words * word
    layer.memory_bits = sum(dense_words(axons, min(n, N - i), bits, word) for i in range(0, N, n)) * word
    layer.bound = bound
    return []


def lava_partition(graph, layer, seg: list, starts, limits: dict) -> list[Issue]:
    """Fill the layer's cores / tile / per-core figures as Lava maps it; fall back to :func:`partition`."""
    k = kind(graph, layer)
    done = _conv(graph, layer, limits) if k == "conv" else _dense(layer, limits) if k == "dense" else None
    if done is not None:
        return done
    issues = partition(graph, layer, seg, starts, limits)
    layer.bound = (layer.bound or "") + " (per-connection fallback)"
    return issues
