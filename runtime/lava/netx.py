"""Export to lava-dl netx HDF5 (the exchange format Loihi 2 deployments load).

netx expresses a chain ``input -> (conv | dense with CUBA neurons)* [-> flatten] -> dense``;
its CUBA neurons are Lava's LIF: **reset to zero**, spike on v > vth, v(0) = 0.
Pools, Add, Concat, average pooling, ChannelAffine, per-channel thresholds ...
have no netx layer: they raise ``BackendError`` naming the node.

What the file computes differs from the compiled SNN in four ways, so its
accuracy is measured by running the file (``run_netx``), not estimated:
reset to zero and v(0) = 0 instead of reset by subtraction from theta / 2; the
input as graded spikes round(x * 2**input_bits) into the first block; the
weights quantised per block (below); and the readout as the spike counts of the
last block's CUBA neurons instead of the mean readout current. Given calibration
data, ``export_netx`` calibrates the file for the last two (``netx_calibrate``:
hidden thresholds refitted for reset to zero, a common readout bias shift and a
readout threshold chosen for a spike-count readout over T steps); without, the
readout has threshold 1 and mostly stays silent. (``snnc run --stock-lif``
shares the reset and the input but keeps the current readout and its own
exponents, so it approximates the file's accuracy without measuring it.)
Predictions from the counts: ``netx_model.predict`` (ties to the class that
reached the top count first).

Integer format per block b (Loihi fixed point, netx reads ``bias`` as bias_mant
with bias_exp = 6, so bias and a_in both enter v << 6)::

    scale_b = 2**k_b  (x 2 for dense: mixed-sign 8-bit Dense weights keep even values only,
                       x 2**input_bits for the first block, fed the graded input round(x * 2**input_bits))
    k_b     = floor(log2((2**(weight_bits-1) - 1) / max|W|)), capped so that vThMant fits 17 bits
    weight  = round(W * 2**k_b)  (|W_q| < 2**(weight_bits-1); x 2 for dense)
    vThMant = round(theta * scale_b)  (17 bit),  bias = round(b * scale_b)  (13 bit signed)
    iDecay = 4096 (du = 4095: the current is cleared every step), vDecay = 0

A block after an IF layer of threshold theta gets W * theta (the IR spike is
s * theta, a netx spike is 1). The last (readout) block gets CUBA neurons with
threshold 1 (IR units) unless calibrated. ``neuron/messageBits`` is never
written (netx reads it back as an object, not an int).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from snnc.compiler.errors import BackendError, DataError, UsageError
from snnc.compiler.ir import Graph
from snnc.compiler.lower.quantize import exponent, graded_input, quantise
from snnc.runtime.lava.netx_model import BIAS_MAX, VTH_MAX, Block

log = logging.getLogger(__name__)
E_RANGE = 64      # block exponents are bounded only by the threshold's 17 bits
SYNAPSES = ("conv", "dense")   # netx forms (op trait ``netx``) of a block's synapse; "input", "flatten": layers


def netx_chain(graph: Graph, neuron: str) -> list[tuple]:
    """[(kind, synapse node, neuron node or None)] of a chain input -> (conv | dense -> neuron)* [-> flatten]
    -> dense, read from each op's ``netx`` trait (``neuron``: "CUBA" or "SDNN"), or BackendError naming every
    node netx cannot express, else the first that breaks the chain."""
    bad = [f"{n.type} {n.name!r}" for n in graph if n.op.netx not in ("input", "flatten", *SYNAPSES, neuron)]
    if bad:
        raise BackendError(f"netx cannot express layer(s) {', '.join(bad)} (its {neuron} networks have input, "
                           f"conv, dense and flatten layers with {neuron} neurons only); run this network with "
                           f"`snnc run --backend lava` instead")
    nodes, out, layers, i = list(graph.nodes), graph.outputs[0], [], 0
    while i < len(nodes):
        n, kind = nodes[i], nodes[i].op.netx
        if i and tuple(n.inputs) != (nodes[i - 1].name,):
            raise BackendError(f"node {n.name!r}: netx networks are a single chain; {n.name!r} reads "
                               f"{list(n.inputs)}, not just the node before it")
        if kind in SYNAPSES and n.name != out and i + 1 < len(nodes) and nodes[i + 1].op.netx == neuron:
            layers.append((kind, n, nodes[i + 1]))
            i += 1
        elif kind in SYNAPSES + ("input", "flatten") and (kind not in SYNAPSES or n.name == out):
            layers.append((kind, n, None))
        else:
            raise BackendError(f"{n.type} {n.name!r}: netx blocks pair each Conv2d / Linear with the {neuron} "
                               f"neuron layer ({'IFNeuron' if neuron == 'CUBA' else 'SigmaDeltaNeuron'}) after it; "
                               f"{n.name!r} does not fit that pattern")
        i += 1
    if layers[-1][1].name != out:
        raise BackendError(f"the graph output {out!r} must be the last layer of the netx chain")
    return layers


def netx_layers(graph: Graph) -> list[tuple]:
    """The CUBA chain (``netx_chain``): IFNeuron layers as netx's CUBA neurons."""
    return netx_chain(graph, "CUBA")


def netx_blocks(graph: Graph, input_bits: int = 7, weight_bits: int = 8) -> tuple[list, list[Block], list]:
    """(netx_layers(graph), the integer blocks, a summary per block) or BackendError naming the layer.

    A neuron's IR output is s * theta (``IFNeuron``), a netx spike is 1: the next block's weights carry theta."""
    if not 2 <= int(weight_bits) <= 8:
        raise BackendError(f"netx weights of {weight_bits} bits: Loihi 2 synapses (lava-dl netx) hold 2..8-bit "
                           f"weights; choose --weight-bits 8 or less")
    layers, blocks, summary, amp = netx_layers(graph), [], [], 1.0
    for kind, syn, neuron in layers:
        if kind in ("conv", "dense"):
            block, info = _quantise(kind, syn, neuron, input_bits if not blocks else 0, weight_bits, amp)
            blocks.append(block)
            summary.append(info)
            amp = 1.0 if neuron is None else _scalar_theta(neuron)
    return layers, blocks, summary


def export_netx(graph: Graph, path, input_bits: int = 7, weight_bits: int = 8, calib=None, T: int = 32,
                fit_hidden: bool = True) -> dict:
    """Write ``path``; returns what a loader needs (input scaling), a per-layer summary and warnings.

    ``weight_bits``: the synaptic weight width (the target profile's ``limits.weight_bits``),
    2..8 (Loihi 2's mixed-sign synapses hold 8 bits). ``calib``: calibration inputs (N, *input shape):
    the hidden thresholds are refitted for reset to zero (``fit_hidden``) and the readout gets a bias
    shift and a threshold for a spike-count readout over ``T`` steps (``netx_calibrate``; the record is
    ``info["calibration"]``). Without ``calib`` the readout neurons have threshold 1 (IR units) and no
    shift: on reset-to-zero networks they mostly stay silent (docs/lava.md)."""
    if any(n.op.netx == "SDNN" for n in graph):  # 'SDNN' blocks (``netx_sd``), nothing to calibrate
        from snnc.runtime.lava.netx_sd import export_sd
        return export_sd(graph, path, weight_bits)
    layers = netx_layers(graph)  # refuse what netx cannot express before anything else
    h5py = require_h5py()
    layers, blocks, summary = netx_blocks(graph, input_bits, weight_bits)
    info = {"path": str(path), "input_bits": input_bits, "input_scale": 2 ** input_bits, "weight_bits": weight_bits,
            "neurons": "CUBA (Lava LIF): reset to zero, v > vth", "layers": summary}
    if calib is not None:
        from snnc.compiler.execute import predict as ann_logits
        from snnc.runtime.lava.netx_calibrate import calibrate
        x = np.asarray(calib, np.float32)
        if x.ndim < 2 or tuple(x.shape[1:]) != tuple(graph.inputs[0].shape):
            raise DataError(f"netx calibration data of shape {x.shape} does not match the model input "
                            f"{graph.inputs[0].name!r} (samples of shape {tuple(graph.inputs[0].shape)})")
        blocks, info["calibration"] = calibrate(blocks, quantise_input(x, input_bits), ann_logits(graph, x), T,
                                                fit_hidden)
        for row, b in zip(summary, blocks):
            row["vThMant"] = b.vth
    with h5py.File(Path(path), "w") as f:
        write_layers(f, layers, blocks, _write_block)
    info["warnings"] = warnings_of(info)
    for w in info["warnings"]:
        log.warning("netx export: %s", w)
    return info


quantise_input = graded_input   # the graded input spikes the file expects: round(x * 2**input_bits)


def require_h5py():
    """``h5py``, or a UsageError (exit 2, one line) saying how to install it."""
    try:
        import h5py
    except ImportError as e:
        raise UsageError(f"writing a netx file needs h5py ({e}); install it: pip install h5py (part of snnc's "
                         f"lava extra, make setup)") from None
    return h5py


def run_netx(path, x: np.ndarray, T: int, input_bits: int = 7, timeout: float = 1800.0,
             spikes: bool = False) -> np.ndarray:
    """Spike counts (n, outputs) of the netx file's last layer over T steps per sample; with ``spikes``
    the spike trains (n, T, outputs) instead (``netx_model.predict`` turns them into classes).

    lava-dl's ``netx.hdf5.Network`` (fixed_pt, Loihi2SimCfg) in a watchdog worker:
    every sample is held for T steps as graded spikes round(x * 2**input_bits)
    (input_message_bits=8), the blocks reset at each sample (reset_interval=T,
    reset_offset=1), and sample s's output is read k steps late (k = the number
    of blocks, one step of latency each)."""
    from snnc.runtime.lava.watchdog import run_isolated
    out, _ = run_isolated(_netx_worker, (str(path), quantise_input(x, input_bits), int(T)), timeout=timeout,
                          what="netx run")
    return out if spikes else out.sum(axis=1)


def _netx_worker(path: str, xq: np.ndarray, T: int) -> np.ndarray:
    from snnc.runtime.lava.lower import batch_to_lava
    net = import_netx().Network(net_config=path, input_message_bits=8, reset_interval=T, reset_offset=1)
    n = len(xq)
    data = np.zeros(tuple(net.inp.shape) + (n * T + netx_depth(net),))
    data[..., :n * T] = np.moveaxis(np.repeat(batch_to_lava(xq), T, axis=0), 0, -1)
    return run_network(net, data, n, T)


def netx_depth(net) -> int:
    """Steps a netx network delays its input: one per Conv / Dense block."""
    return sum(1 for b in net.layers if type(b).__name__ in ("Conv", "Dense"))


def run_network(net, data: np.ndarray, n: int, T: int) -> np.ndarray:
    """Run a loaded netx ``Network`` on ``data`` (input shape + (steps,)) in Lava fixed point; its output
    (n, T, outputs), rounded, after the network's depth."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    depth, steps = netx_depth(net), data.shape[-1]
    src, sink = Source(data=data), Sink(shape=net.out.shape, buffer=steps)
    src.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        out = np.asarray(sink.data.get())
    finally:
        net.stop()
    return np.rint(out[:, depth:depth + n * T]).reshape(-1, n, T).transpose(1, 2, 0).astype(np.int64)


def _quantise(kind, syn, neuron, in_bits: int, weight_bits: int, amp: float) -> tuple[Block, dict]:
    op = syn.op
    theta = 1.0 if neuron is None else _scalar_theta(neuron)
    weight = np.asarray(op.weight, np.float64) * amp
    extra = in_bits + (1 if kind == "dense" else 0)
    # one exponent per block (netx's CUBA layer holds one vThMant), by the deployment's one rule
    k = exponent(float(np.abs(weight).max(initial=0.0)), weight_bits, lo=-E_RANGE, empty=0,
                 hi=math.floor(math.log2(VTH_MAX / theta)) - extra)
    scale = 2.0 ** (k + extra)
    w = quantise(weight, k, weight_bits)[0] << (1 if kind == "dense" else 0)
    vth = int(round(theta * scale))
    if vth < 1:
        raise BackendError(f"node {syn.name!r}: with {weight_bits}-bit weights the block's scale is {scale:g}, so its "
                           f"threshold {theta:g} rounds to vThMant 0; export with more weight bits (--weight-bits)")
    if vth > VTH_MAX:
        raise BackendError(f"node {syn.name!r}: threshold {theta} cannot be expressed in 17 bits at scale {scale}")
    bias = None
    if op.bias is not None:
        bias = np.round(op.bias * scale).astype(np.int64)
        if np.abs(bias).max() > BIAS_MAX:
            raise BackendError(f"node {syn.name!r}: bias {np.abs(op.bias).max():.3g} exceeds the 13-bit bias "
                               f"mantissa at scale {scale:g}")
    if kind == "conv":
        pt, pl, pb, pr = op.padding
        if (pt, pl) != (pb, pr):
            raise BackendError(f"node {syn.name!r}: asymmetric padding {op.padding} has no netx form")
    block = Block(kind, syn.name, w, bias, vth, scale, op if kind == "conv" else None)
    return block, {"layer": syn.name, "type": kind, "exponent": k, "scale": scale, "vThMant": vth,
                   "readout": neuron is None, **_lost(weight, w)}


def write_layers(h5file, layers, blocks, write_block) -> None:
    """netx's ``layer/<i>`` groups: each layer's type and shape, and ``write_block(group, block)`` for each
    conv / dense block (CUBA here, SDNN in ``netx_sd``), in chain order."""
    grp = h5file.create_group("layer")
    it = iter(blocks)
    for idx, (kind, syn, _) in enumerate(layers):
        g = grp.create_group(str(idx))
        g.create_dataset("type", data=np.bytes_(kind))
        g.create_dataset("shape", data=np.asarray(syn.shape, np.int64))
        if kind in SYNAPSES:
            write_block(g, next(it))


def write_synapse(g, kind: str, weight, bias, op) -> None:
    """A block's weights, bias (None: none written) and, for a conv, its geometry."""
    g.create_dataset("weight", data=weight)
    if bias is not None:
        g.create_dataset("bias", data=np.asarray(bias, np.int64))
    if kind == "conv":
        for key, val in (("stride", op.stride), ("padding", op.padding[:2]), ("dilation", op.dilation)):
            g.create_dataset(key, data=np.asarray(val, np.int64))  # (Y, X): netx reverses to (X, Y)
        g.create_dataset("groups", data=np.int64(op.groups))


def _write_block(g, block: Block) -> None:
    write_synapse(g, block.kind, block.weight, block.bias, block.op)
    ng = g.create_group("neuron")
    ng.create_dataset("type", data=np.bytes_("CUBA"))
    for key, val in (("iDecay", 4096), ("vDecay", 0), ("vThMant", block.vth), ("refDelay", 1)):
        ng.create_dataset(key, data=np.int64(val))


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
