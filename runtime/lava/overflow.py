"""Static worst-case check of Loihi's 24-bit synaptic arithmetic (fixed point).

Lava's fixed-point Conv wraps its output to signed 24 bits (``signed_clamp``:
``(x + 2**23) % 2**24 - 2**23``, no saturation), and the stock LIF wraps its
current u = a_in << 6 the same way; the custom IF neuron saturates v instead
(counted at run time). With |W_q| the quantised weights and x_max the largest
input of a synapse (1 for spikes, max |x_q| for the graded network input), the
largest output a synapse can produce and the largest input a layer L can sum
(all its branches, e.g. a residual Add) are::

    worst(syn) = max_o sum_i |W_q[o, i]| * x_max         (per output unit o, over its fan-in)
    worst(L)   = sum over the synapses feeding L of worst(syn)

A Conv with worst(syn) >= 2**23 may wrap; a stock LIF layer with
worst(L) << 6 >= 2**23 may wrap u; a Dense with worst(syn) >= 2**23 exceeds
Loihi's 24-bit range although Lava's Python Dense does not wrap (simulation and
chip would differ). Each case is a warning naming the layer; the NumPy
reference counts the wraps that actually happen (``Reference.wrapped``).
"""
from __future__ import annotations

import numpy as np

LIMIT = 2 ** 23


def worst_cases(num, synapses, stock: bool) -> tuple[dict, list[str]]:
    """``synapses``: [(node, quantised weight, x_max)] -> ({layer: figures}, [warnings])."""
    layers: dict[str, dict] = {}
    warnings: list[str] = []
    for node, wq, x_max in synapses:
        worst = _worst(node, wq) * int(x_max)
        sink = num.sinks[node.name]
        entry = layers.setdefault(sink, {"worst_input": 0, "synapses": {}})
        entry["worst_input"] += worst
        entry["synapses"][node.name] = worst
        if worst >= LIMIT and _lava_conv(node):
            warnings.append(f"layer {sink!r}: synapse {node.name!r} can reach {worst:,} (>= 2^23): Lava's "
                            f"fixed-point Conv wraps it at 24 bits")
        elif worst >= LIMIT:
            warnings.append(f"layer {sink!r}: synapse {node.name!r} can reach {worst:,} (>= 2^23), beyond "
                            f"Loihi's 24-bit synaptic input (Lava's Python Dense does not wrap)")
    for sink, entry in layers.items():
        entry["limit"] = LIMIT
        if stock and sink in num.neuron_layers and entry["worst_input"] << 6 >= LIMIT:
            warnings.append(f"layer {sink!r}: summed input can reach {entry['worst_input']:,} "
                            f"(<< 6 >= 2^23): the stock LIF current u wraps at 24 bits")
    return layers, warnings


def _worst(node, wq) -> int:
    a = np.abs(np.asarray(wq, np.int64))
    if node.type == "ChannelAffine":
        return int(a.max(initial=0))
    return int(a.reshape(a.shape[0], -1).sum(axis=1).max(initial=0))


def _lava_conv(node) -> bool:
    """Synapses the lowering builds as a Lava Conv (a map ChannelAffine is a depthwise 1x1 Conv)."""
    return node.type == "Conv2d" or (node.type == "ChannelAffine" and len(node.shape) == 3)
