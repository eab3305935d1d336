"""Calibrating a netx file for reset to zero and a spike-count readout, on data, with its own arithmetic.

Both steps simulate the file's integer blocks (``netx_model``, equal to lava-dl's
netx spike for spike) on calibration inputs for the T steps the file will run.

1. Hidden thresholds (``fit_hidden_thresholds``). Reset to zero from v(0) = 0
   fires less than reset by subtraction (a neuron driven by a constant z < theta
   fires at rate 1 / (floor(theta / z) + 1), not z / theta). Each hidden block's
   vThMant is scaled by a factor f in ``FACTORS``, block by block in order (one
   coordinate-descent pass), keeping the f that minimises the mean squared error
   between the readout's mean current (IR units, mean_t (W s(t) + b) / scale)
   and the clip-ANN logits of the compiled graph (the values the rate code
   approximates). Label-free; f = 1 is kept unless another f is strictly better.

2. Readout (``calibrate_readout``). The readout is the spike count of the last
   block. Its currents I_k(t) = (W s(t))_k + b_k are argmax-correct as a mean (the
   current readout of ``snnc run --stock-lif``), but the winner is often negative
   with reset to zero, and a neuron integrating a negative current never fires.
   A common shift c added to every output bias keeps the argmax of the mean
   currents; with the winner's mean current m_i = max_k mean_t I_k(t) on
   calibration sample i::

       c       = ceil(-P_lo(m))            the winner's current is >= 0 on all but lo % of the samples
       vth_out = max(1, round(P_hi(m + c)))  the winner fires about T (m_i + c) / vth_out times,
                                             below T on hi % of the samples (counts stay unsaturated)

   (P_q: the q-th percentile over the calibration samples, integer units.) (lo, hi)
   is the pair of ``GRID`` whose spike-count prediction (``netx_model.predict``)
   agrees most often with the argmax of the mean currents on the calibration data,
   the larger vth_out (finer counts) winning ties.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.runtime.lava.netx_model import (BIAS_MAX, VTH_MAX, predict, readout_currents, readout_spikes,
                                          readout_stats)

FACTORS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
GRID = tuple((lo, hi) for lo in (0, 1, 2, 5, 10, 20, 30) for hi in (50, 75, 90, 95, 99, 100))


def _bias(block) -> np.ndarray:
    return np.zeros(block.weight.shape[0], np.int64) if block.bias is None else np.asarray(block.bias, np.int64)


def mean_logits(blocks: list, xq: np.ndarray, T: int) -> np.ndarray:
    """The current readout of the file's network: mean_t (W s(t) + b) / scale of the last block, (N, K)."""
    last = blocks[-1]
    return (readout_currents(blocks, xq, T).mean(axis=1) + _bias(last)) / last.scale


def fit_hidden_thresholds(blocks: list, xq: np.ndarray, target: np.ndarray, T: int) -> tuple[list, dict]:
    """(blocks with refitted hidden vThMant, record {layer: {factor, vThMant, vThMant_before}, mse before/after})."""
    def loss(bs):
        return float(np.mean((mean_logits(bs, xq, T) - target) ** 2))
    best = start = loss(blocks)
    layers = {}
    for i, b in enumerate(blocks[:-1]):
        choice = (1.0, b)
        for f in FACTORS[1:]:
            cand = replace(b, vth=max(1, int(round(f * b.vth))))
            trial = loss(blocks[:i] + [cand] + blocks[i + 1:])
            if trial < best:
                best, choice = trial, (f, cand)
        blocks = blocks[:i] + [choice[1]] + blocks[i + 1:]
        layers[b.name] = {"factor": choice[0], "vThMant": choice[1].vth, "vThMant_before": b.vth}
    return blocks, {"rule": f"vThMant x f, f in {list(FACTORS)}, one pass in layer order, minimising the mean "
                            f"squared error of the mean readout current to the clip-ANN logits",
                    "layers": layers, "mse_before": start, "mse_after": best}


def calibrate_readout(block, currents: np.ndarray, T: int) -> tuple[object, dict]:
    """(the readout block with bias + c and vth_out, record) from its synaptic currents (N, T, K) on the
    calibration data (module docstring, step 2)."""
    bias = _bias(block)
    m = currents.mean(axis=1) + bias
    win, ref = m.max(axis=1), m.argmax(axis=1)
    best, too_big = None, None
    for lo, hi in GRID:
        c = int(math.ceil(-np.percentile(win, lo)))
        vth = max(1, int(round(np.percentile(win + c, hi))))
        if np.abs(bias + c).max() > BIAS_MAX or vth > VTH_MAX:
            too_big = (c, vth)
            continue
        spikes = readout_spikes(currents, bias + c, vth)
        key = (float(np.mean(predict(spikes) == ref)), vth)
        if best is None or key > best[0]:
            best = (key, lo, hi, c, vth, spikes)
    if best is None:
        raise BackendError(f"node {block.name!r}: the calibrated readout (bias shift {too_big[0]}, vThMant "
                           f"{too_big[1]} at scale {block.scale:g}) exceeds the 13-bit bias mantissa / 17-bit "
                           f"threshold; export with fewer weight bits (--weight-bits)")
    (agree, _), lo, hi, c, vth, spikes = best
    record = {"rule": "shift c = ceil(-P_lo(m)), vth_out = round(P_hi(m + c)), m = the winning class's mean "
                      "current per calibration sample; (lo, hi) maximising agreement with the current argmax",
              "lo": lo, "hi": hi, "shift": c, "shift_ir": c / block.scale, "vThMant": vth,
              "theta_out_ir": vth / block.scale, "agreement": agree, **readout_stats(spikes)}
    return replace(block, bias=bias + c, vth=vth), record


def calibrate(blocks: list, xq: np.ndarray, target: np.ndarray, T: int, fit_hidden: bool = True
              ) -> tuple[list, dict]:
    """Both steps; ``target``: the clip-ANN logits of the calibration inputs (for step 1)."""
    if blocks[-1].kind != "dense":
        raise BackendError(f"node {blocks[-1].name!r}: the spike-count readout is calibrated per class; the "
                           f"netx chain must end in a dense (Linear) layer, not a {blocks[-1].kind}")
    record = {"T": int(T), "samples": int(len(xq))}
    if fit_hidden and len(blocks) > 1:
        blocks, record["hidden"] = fit_hidden_thresholds(blocks, xq, target, T)
    last, record["readout"] = calibrate_readout(blocks[-1], readout_currents(blocks, xq, T), T)
    return blocks[:-1] + [last], record
