"""Export to lava-dl netx HDF5 (the exchange format Loihi 2 deployments load).

netx expresses a chain ``input -> (conv | dense with CUBA neurons)* [-> flatten] -> dense``;
its CUBA neurons are Lava's LIF: **reset to zero**, spike on v > vth, v(0) = 0.
Pools, Add, Concat, average pooling, ChannelAffine, per-channel thresholds ...
have no netx layer: they raise ``BackendError`` naming the node.

What the file computes differs from the compiled SNN in four ways, so its
accuracy is measured by running the file (``run_netx``), not estimated:
reset to zero and v(0) = 0 instead of reset by subtraction from theta / 2; the
input as graded spikes round(x * 2**input_bits) into the first block; the
weights quantised per block (below); and the readout as the spike counts of a
CUBA layer with threshold 1 instead of the mean readout current. (``snnc run
--stock-lif`` shares the first two but keeps the current readout and its own
exponents, so it approximates the file's accuracy without measuring it.)

Integer format per block b (Loihi fixed point, netx reads ``bias`` as bias_mant
with bias_exp = 6, so bias and a_in both enter v << 6)::

    scale_b = 2**k_b  (x 2 for dense: mixed-sign 8-bit Dense weights keep even values only,
                       x 2**input_bits for the first block, fed the graded input round(x * 2**input_bits))
    k_b     = floor(log2((2**(weight_bits-1) - 1) / max|W|)), capped so that vThMant fits 17 bits
    weight  = round(W * 2**k_b)  (|W_q| < 2**(weight_bits-1); x 2 for dense)
    vThMant = round(theta * scale_b)  (17 bit),  bias = round(b * scale_b)  (13 bit signed)
    iDecay = 4096 (du = 4095: the current is cleared every step), vDecay = 0

The last (readout) layer gets CUBA neurons with threshold 1: predictions are
the argmax of its spike counts. ``neuron/messageBits`` is never written (netx
reads it back as an object, not an int).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import Graph

log = logging.getLogger(__name__)
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
    """Write ``path``; returns what a loader needs (input scaling) and a per-layer summary.

    ``weight_bits``: the synaptic weight width (the target profile's ``limits.weight_bits``),
    2..8 (Loihi 2's mixed-sign synapses hold 8 bits)."""
    import h5py
    if not 2 <= int(weight_bits) <= 8:
        raise BackendError(f"netx weights of {weight_bits} bits: Loihi 2 synapses (lava-dl netx) hold 2..8-bit "
                           f"weights; choose --weight-bits 8 or less")
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
    info = {"path": str(path), "input_bits": input_bits, "input_scale": 2 ** input_bits, "weight_bits": weight_bits,
            "neurons": "CUBA (Lava LIF): reset to zero, v > vth", "layers": summary}
    info["warnings"] = warnings_of(info)
    for w in info["warnings"]:
        log.warning("netx export: %s", w)
    return info


def run_netx(path, x: np.ndarray, T: int, input_bits: int = 7, timeout: float = 1800.0) -> np.ndarray:
    """Spike counts (n, outputs) of the netx file's last layer over T steps per sample.

    lava-dl's ``netx.hdf5.Network`` (fixed_pt, Loihi2SimCfg) in a watchdog worker:
    every sample is held for T steps as graded spikes round(x * 2**input_bits)
    (input_message_bits=8), the blocks reset at each sample (reset_interval=T,
    reset_offset=1), and sample s's output is read k steps late (k = the number
    of blocks, one step of latency each)."""
    from snnc.runtime.lava.watchdog import run_isolated
    xq = np.round(np.asarray(x, np.float64) * 2 ** input_bits).astype(np.int64)
    out, _ = run_isolated(_netx_worker, (str(path), xq, int(T)), timeout=timeout, what="netx run")
    return out


def _netx_worker(path: str, xq: np.ndarray, T: int) -> np.ndarray:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from snnc.runtime.lava.lower import batch_to_lava
    net = import_netx().Network(net_config=path, input_message_bits=8, reset_interval=T, reset_offset=1)
    depth = sum(1 for b in net.layers if type(b).__name__ in ("Conv", "Dense"))
    n, steps = len(xq), len(xq) * T + depth
    data = np.zeros(tuple(net.inp.shape) + (steps,))
    data[..., :n * T] = np.moveaxis(np.repeat(batch_to_lava(xq), T, axis=0), 0, -1)
    src, sink = Source(data=data), Sink(shape=net.out.shape, buffer=steps)
    src.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        out = np.asarray(sink.data.get())
    finally:
        net.stop()
    return np.rint(out[:, depth:depth + n * T]).reshape(-1, n, T).sum(axis=2).T.astype(np.int64)


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
    if vth < 1:
        raise BackendError(f"node {syn.name!r}: with {weight_bits}-bit weights the block's scale is {scale:g}, so its "
                           f"threshold {theta:g} rounds to vThMant 0; export with more weight bits (--weight-bits)")
    if vth > VTH_MAX:
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
            "readout": neuron is None, **_lost(op.weight, w)}


def _lost(weight: np.ndarray, wq: np.ndarray) -> dict:
    """How much of the weights one exponent per block keeps: output units whose weights all became 0."""
    rows = weight.reshape(weight.shape[0], -1)
    dead = (np.abs(rows).max(axis=1) > 0) & ~np.any(wq.reshape(wq.shape[0], -1) != 0, axis=1)
    return {"units": int(rows.shape[0]), "units_zeroed": int(dead.sum()),
            "weights_zeroed": float(np.mean((rows != 0) & (wq.reshape(rows.shape) == 0)))}


def warnings_of(info: dict) -> list[str]:
    """One line per block that lost output units to the per-block weight exponent."""
    return [f"layer {b['layer']!r}: {b['units_zeroed']} of {b['units']} output units have all weights quantised "
            f"to 0 ({100 * b['weights_zeroed']:.0f}% of the weights): the block's weights span more than "
            f"{2 ** info['weight_bits']}x, typically from per-channel thresholds folded into them (cltb); "
            f"compile with --method ltb (one threshold per layer) for netx" for b in info["layers"] if b["units_zeroed"]]


def _scalar_theta(neuron) -> float:
    th = np.unique(neuron.op.threshold)
    if th.size != 1 or th[0] <= 0:
        raise BackendError(f"IFNeuron {neuron.name!r}: netx CUBA layers take one positive threshold per layer")
    return float(th[0])


def import_netx():
    """``lava.lib.dl.netx.hdf5``; lava-dl 0.6 imports OpenCV through slayer's object-detection
    utilities, which netx never uses: without cv2 installed, an empty stand-in module lets it load."""
    import contextlib
    import importlib.util
    import sys
    import types
    if importlib.util.find_spec("cv2") is None and "cv2" not in sys.modules:
        sys.modules["cv2"] = types.ModuleType("cv2")
    with contextlib.redirect_stdout(sys.stderr):  # lava-dl prints import warnings on stdout (breaks --json)
        from lava.lib.dl.netx import hdf5
    return hdf5
