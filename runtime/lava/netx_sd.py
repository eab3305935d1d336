"""lava-dl netx HDF5 export of a sigma-delta chain ('SDNN' blocks), its NumPy model and its run on Lava.

netx builds an SDNN block as a synapse into lava-nc's ``SigmaDelta`` with
``spike_exp = state_exp = 6`` (vth = vThMant << 12, bias << 12, payload s >> 6;
``lava/lib/dl/netx/hdf5.py``) and a block whose neuron has ``sigma_output`` as
a ``Sigma`` (the readout's running sum). netx cannot reset SDNN neurons, so the
samples stream through one run and the input is delta-encoded by the host: the
first block reads round(x * 2**ib) of each sample once, as its change from the
sample before (no input neuron: netx's SDNN input block is fed through its
bias, not a port).

Integers per block L (one exponent k_L per block by the deployment's rule,
``quantise``; dense weights are written << 1 as in the CUBA export, so k_eff = k + 1
for dense), with f_{L-1} the fractional bits of the payload it reads (f_0 = ib)::

    u_L     = k_eff + f_{L-1}                 sigma counts units of 2**-u_L
    weight  = quantise(W~, k)  (<< 1 dense)   vThMant = max(1, round(step 2**(u_L - 12)))
    bias    = round(b 2**(u_L - 12))          f_L = u_L - 6   (the payload s >> 6)
    ib      = 12 + B - k_eff(first block)     so the first block's vThMant is one step
    readout (Sigma, no bias in netx): logits = (sigma + round(b 2**u)) / 2**u on the host

``NetxSD.run`` is the same arithmetic in NumPy (lava-nc's SigmaDelta model, Conv
sums wrapped to 24 bits), used to check the Lava run bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.compiler.lower.quantize import exponent, quantise
from snnc.runtime.lava.netx import netx_chain, write_layers, write_synapse
from snnc.runtime.lava.reference import _wrap24, conv64
from snnc.runtime.lava.sd_numerics import CHUNK, _step

SHIFT = 6                      # netx: spike_exp = state_exp = 6


@dataclass
class SDBlock:
    kind: str                  # "conv" | "dense"
    name: str
    weight: np.ndarray         # int64 as written
    bias: np.ndarray           # int64 per output channel (file units), readout: host bias in sigma units
    vth: int                   # vThMant (0 for the readout)
    unit: int                  # sigma counts 2**-unit
    op: object                 # the IR op (conv geometry)
    readout: bool = False


def sd_chain(graph) -> list[tuple]:
    """[(kind, synapse node, SigmaDeltaNeuron or None)] of a chain input -> (conv|dense -> SD)* [-> flatten] -> dense
    (``netx.netx_chain`` with SDNN neurons: no pools, Add, Concat, ChannelAffine)."""
    return netx_chain(graph, "SDNN")


def sd_blocks(graph, weight_bits: int = 8) -> tuple[list, list[SDBlock], int]:
    """(sd_chain(graph), the integer blocks, the input's fractional bits ib)."""
    layers, blocks, f, ib = sd_chain(graph), [], None, None
    for kind, syn, neuron in layers:
        if kind not in ("conv", "dense"):
            continue
        w = np.asarray(syn.op.weight, np.float64)
        k = exponent(float(np.abs(w).max(initial=0.0)), weight_bits, lo=-16, empty=0, hi=16)
        extra = 1 if kind == "dense" else 0
        q = quantise(w, k, weight_bits)[0] << extra
        if f is None:
            bits = int(neuron.op.bits) if neuron is not None else 8
            f = ib = max(0, 12 + bits - k - extra)
        u = k + extra + f
        b = np.zeros(syn.shape[0]) if syn.op.bias is None else np.asarray(syn.op.bias, np.float64)
        if neuron is None:
            blocks.append(SDBlock(kind, syn.name, q, np.round(b * 2.0 ** u).astype(np.int64), 0, u, syn.op, True))
            continue
        vth = max(1, int(round(_step(neuron) * 2.0 ** (u - 12))))   # one vThMant per block: equal steps
        blocks.append(SDBlock(kind, syn.name, q, np.round(b * 2.0 ** (u - 12)).astype(np.int64), vth, u, syn.op))
        f = u - SHIFT
    return layers, blocks, ib


def write_sd(h5file, layers, blocks) -> None:
    write_layers(h5file, layers, blocks, _write_block)


def _write_block(g, b: SDBlock) -> None:
    write_synapse(g, b.kind, b.weight, None if b.readout else b.bias, b.op)   # netx's Sigma has no bias
    ng = g.create_group("neuron")
    ng.create_dataset("type", data=np.bytes_("SDNN"))
    ng.create_dataset("vThMant", data=np.int64(b.vth))
    if b.readout:
        ng.create_dataset("sigma_output", data=True)


def export_sd(graph, path, weight_bits: int = 8) -> dict:
    from snnc.runtime.lava.netx import require_h5py
    layers, blocks, ib = sd_blocks(graph, weight_bits)
    h5py = require_h5py()
    with h5py.File(str(path), "w") as f:
        write_sd(f, layers, blocks)
    return {"path": str(path), "input_bits": ib, "input_scale": 2 ** ib, "weight_bits": weight_bits,
            "neurons": "SDNN (lava.proc.sdn.SigmaDelta, spike_exp = state_exp = 6; readout Sigma)",
            "sigma_delta": True, "warnings": [],
            "layers": [{"layer": b.name, "type": b.kind, "exponent": b.unit, "scale": 2.0 ** b.unit,
                        "vThMant": b.vth, "readout": b.readout} for b in blocks],
            "readout_bias": blocks[-1].bias.tolist(), "readout_unit": blocks[-1].unit}


def graded(x, ib: int) -> np.ndarray:
    return np.round(np.asarray(x, np.float64) * 2.0 ** ib).astype(np.int64)


class NetxSD:
    """NumPy model of the file's blocks over the stream of samples (latency included: each block one step)."""

    def __init__(self, graph, weight_bits: int = 8):
        self.layers, self.blocks, self.ib = sd_blocks(graph, weight_bits)

    def run(self, x, T: int) -> np.ndarray:
        """Readout logits (n, T, classes) in IR units, sample s step tau read at s T + tau + depth; a fresh
        state every ``CHUNK`` samples, as ``run_netx_sd`` loads the file anew."""
        return np.concatenate([self.run_stream(x[a:a + CHUNK], T) for a in range(0, len(x), CHUNK)])

    def run_stream(self, x, T: int) -> np.ndarray:
        from snnc.runtime.lava.sigma_delta import deltas
        xq, n, depth = graded(x, self.ib), len(x), len(self.blocks)
        data = np.moveaxis(deltas(xq, T, n * T + depth), -1, 0)          # (steps, *input shape)
        state = [dict(buf=0, sigma=0, act=0, res=0) for _ in self.blocks]
        out = []
        for t in range(n * T + depth):
            v = data[t][None]
            for b, st in zip(self.blocks, state):
                if b.kind == "dense":
                    v = v.reshape(1, -1)
                y = _wrap24(conv64(b.op, b.weight, v)) if b.kind == "conv" else v @ b.weight.T
                v, st["buf"] = st["buf"] + np.zeros_like(y), y                  # one step of latency
                st["sigma"] = st["sigma"] + v
                if b.readout:
                    v = st["sigma"]
                    continue
                shp = (-1,) + (1,) * (v.ndim - 2)
                act = np.maximum(st["sigma"] + (b.bias.reshape(shp) << 2 * SHIFT), 0)
                delta = act - st["act"] + st["res"]
                s = np.where(np.abs(delta) >= b.vth << 2 * SHIFT, delta, 0)
                st["act"], st["res"] = act, delta - s
                v = np.right_shift(s, SHIFT)
            out.append(v[0])
        last = self.blocks[-1]
        tr = (np.stack(out)[depth:] + last.bias) / 2.0 ** last.unit
        return tr.reshape((n, T) + tr.shape[1:])


def run_netx_sd(path, x, T: int, ib: int, timeout: float = 1800.0) -> np.ndarray:
    """The file run by lava-dl's netx (fixed_pt, no reset: the stream of samples; loaded anew every ``CHUNK``
    samples, which bounds the drift of the s >> 6 truncation) -> readout sigma (n, T, classes) in file
    units (add the readout bias and divide by 2**unit for logits)."""
    from snnc.runtime.lava.watchdog import run_isolated
    xq = graded(x, ib)
    return np.concatenate([run_isolated(_worker, (str(path), xq[a:a + CHUNK], int(T)), timeout=timeout,
                                        what="netx run")[0] for a in range(0, len(xq), CHUNK)])


def _worker(path: str, xq: np.ndarray, T: int) -> np.ndarray:
    from snnc.runtime.lava.lower import batch_to_lava
    from snnc.runtime.lava.netx import import_netx, netx_depth, run_network
    from snnc.runtime.lava.sigma_delta import deltas
    net = import_netx().Network(net_config=path, input_message_bits=24)
    n = len(xq)
    return run_network(net, deltas(batch_to_lava(xq), T, n * T + netx_depth(net)), n, T)
