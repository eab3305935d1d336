"""Export to lava-dl netx HDF5 (the exchange format Loihi 2 deployments load).

netx expresses a chain ``input -> (conv | dense with CUBA neurons)* [-> flatten] -> dense``;
its CUBA neurons are Lava's LIF: **reset to zero**, spike on v > vth, v(0) = 0,
so the exported network is the stock-neuron variant of the SNN (measure its
accuracy cost with ``snnc run --stock-lif``). Pools, Add, Concat, average
pooling, ChannelAffine, per-channel thresholds ... have no netx layer: they
raise ``BackendError`` naming the node.

Integer format per block b (Loihi fixed point, netx reads ``bias`` as bias_mant
with bias_exp = 6, so bias and a_in both enter v << 6)::

    scale_b = 2**k_b  (x 2 for dense: mixed-sign 8-bit Dense weights keep even values only,
                       x 2**input_bits for the first block, fed the graded input round(x * 2**input_bits))
    weight  = round(W * scale_b)   (|W_q| < 2**(weight_bits-1) before the dense doubling)
    vThMant = round(theta * scale_b)  (17 bit),  bias = round(b * scale_b)  (13 bit signed)
    iDecay = 4096 (du = 4095: the current is cleared every step), vDecay = 0

The last (readout) layer gets CUBA neurons with threshold 1: predictions are
the argmax of its spike counts. ``neuron/messageBits`` is never written (netx
reads it back as an object, not an int).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph

VTH_MAX, BIAS_MAX = 2 ** 17 - 1, 4095
NETX_OPS = {"Input", "Conv2d", "Linear", "IFNeuron", "Flatten"}


def netx_layers(graph: Graph) -> list[tuple]:
    """[(kind, synapse node, neuron node or None)] or BackendError naming the first inexpressible node."""
    bad = [f"{n.type} {n.name!r}" for n in graph if n.type not in NETX_OPS]
    if bad:
        raise BackendError(f"netx cannot express layer(s) {', '.join(bad)} (it has input, conv, dense and "
                           f"flatten layers with CUBA neurons only); run this network with "
                           f"`snnc run --backend lava` instead")
    nodes, out, layers, i = list(graph.nodes), graph.outputs[0], [], 0
    while i < len(nodes):
        n = nodes[i]
        if i and tuple(n.inputs) != (nodes[i - 1].name,):
            raise BackendError(f"node {n.name!r}: netx networks are a single chain; {n.name!r} reads "
                               f"{list(n.inputs)}, not just the node before it")
        if n.type in ("Input", "Flatten"):
            layers.append((n.type.lower(), n, None))
        elif n.type in ("Conv2d", "Linear") and n.name == out:
            layers.append(("dense" if n.type == "Linear" else "conv", n, None))
        elif n.type in ("Conv2d", "Linear") and i + 1 < len(nodes) and nodes[i + 1].type == "IFNeuron":
            layers.append(("dense" if n.type == "Linear" else "conv", n, nodes[i + 1]))
            i += 1
        else:
            raise BackendError(f"node {n.name!r}: netx layers pair each Conv2d / Linear with the IFNeuron "
                               f"after it; {n.type} {n.name!r} does not fit that pattern")
        i += 1
    if layers[-1][1].name != out:
        raise BackendError(f"the graph output {out!r} must be the last layer of the netx chain")
    return layers


def export_netx(graph: Graph, path, input_bits: int = 7, weight_bits: int = 8) -> dict:
    """Write ``path``; returns what a loader needs (input scaling) and a per-layer summary."""
    import h5py
    layers = netx_layers(graph)
    summary, first = [], True
    with h5py.File(Path(path), "w") as f:
        grp = f.create_group("layer")
        for idx, (kind, syn, neuron) in enumerate(layers):
            g = grp.create_group(str(idx))
            g.create_dataset("type", data=np.bytes_(kind))
            g.create_dataset("shape", data=np.asarray(syn.shape, np.int64))
            if kind in ("conv", "dense"):
                summary.append(_write_block(g, kind, syn, neuron, input_bits if first else 0, weight_bits))
                first = False
    return {"path": str(path), "input_bits": input_bits, "input_scale": 2 ** input_bits,
            "neurons": "CUBA (Lava LIF): reset to zero, v > vth", "layers": summary}


def _write_block(g, kind, syn, neuron, in_bits: int, weight_bits: int) -> dict:
    op = syn.op
    theta = 1.0 if neuron is None else _scalar_theta(neuron)
    extra = in_bits + (1 if kind == "dense" else 0)
    wmax = float(np.abs(op.weight).max(initial=0.0))
    qmax = 2 ** (weight_bits - 1) - 1
    k = math.floor(math.log2(qmax / wmax)) if wmax > 0 else 0
    k = min(k, math.floor(math.log2(VTH_MAX / theta)) - extra)
    scale = 2.0 ** (k + extra)
    w = np.clip(np.round(op.weight * 2.0 ** k), -qmax - 1, qmax).astype(np.int64) << (1 if kind == "dense" else 0)
    vth = int(round(theta * scale))
    if not 1 <= vth <= VTH_MAX:
        raise BackendError(f"node {syn.name!r}: threshold {theta} cannot be expressed in 17 bits at scale {scale}")
    g.create_dataset("weight", data=w)
    if op.bias is not None:
        b = np.round(op.bias * scale)
        if np.abs(b).max() > BIAS_MAX:
            raise BackendError(f"node {syn.name!r}: bias {np.abs(op.bias).max():.3g} exceeds the 13-bit bias "
                               f"mantissa at scale {scale:g}")
        g.create_dataset("bias", data=b.astype(np.int64))
    if kind == "conv":
        pt, pl, pb, pr = op.padding
        if (pt, pl) != (pb, pr):
            raise BackendError(f"node {syn.name!r}: asymmetric padding {op.padding} has no netx form")
        for key, val in (("stride", op.stride), ("padding", (pt, pl)), ("dilation", op.dilation)):
            g.create_dataset(key, data=np.asarray(val, np.int64))  # (Y, X): netx reverses to (X, Y)
        g.create_dataset("groups", data=np.int64(op.groups))
    ng = g.create_group("neuron")
    ng.create_dataset("type", data=np.bytes_("CUBA"))
    for key, val in (("iDecay", 4096), ("vDecay", 0), ("vThMant", vth), ("refDelay", 1)):
        ng.create_dataset(key, data=np.int64(val))
    return {"layer": syn.name, "type": kind, "exponent": k, "scale": scale, "vThMant": vth,
            "readout": neuron is None}


def _scalar_theta(neuron) -> float:
    th = np.unique(neuron.op.threshold)
    if th.size != 1 or th[0] <= 0:
        raise BackendError(f"IFNeuron {neuron.name!r}: netx CUBA layers take one positive threshold per layer")
    return float(th[0])


def import_netx():
    """``lava.lib.dl.netx.hdf5``; lava-dl 0.6 imports OpenCV through slayer's object-detection
    utilities, which netx never uses: without cv2 installed, an empty stand-in module lets it load."""
    import importlib.util
    import sys
    import types
    if importlib.util.find_spec("cv2") is None and "cv2" not in sys.modules:
        sys.modules["cv2"] = types.ModuleType("cv2")
    from lava.lib.dl.netx import hdf5
    return hdf5
