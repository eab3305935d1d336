"""Exponents of one integrating layer: the unit of its current per channel, and a weight exponent per synapse.

A layer L with output channels c integrates the currents of its synapses s
(several for a residual Add, or a composed current). With b weight bits,
qmax = 2**(b-1) - 1, m_{s,c} the largest |W_s| of row c and theta_c the
threshold, synapse s alone would take the exponent ::

    e_{s,c} = clamp(floor(log2(qmax / m_{s,c})), 0, 16)          (16 for an all-zero row)
    hi_c    = min(16, floor(log2(VTH_MAX / theta_c)))              (vth = theta_c 2**E_c fits 17 bits)

One unit of L's current in channel c is 2**-E_c (the neuron's threshold, bias
and v_init carry 2**E_c). Synapse s stores b-bit mantissas at its own exponent
E_c - k_s and a **weight exponent** k_s >= 0 (one per synapse, Loihi's per
synapse-group weight exponent, Lava's per-process ``weight_exp``): its
integers in L's unit are ``q_s << k_s``, exact. Given the shifts k::

    E_c = min(hi_c, min_s (e_{s,c} + k_s))       so  E_c - k_s <= e_{s,c}: no mantissa clips
    W_q[s][c] = quantise(W_s[c], E_c - k_s)

k = 0 is one exponent for every synapse of the layer (plan version 1): the
synapse with the largest weights sets E_c and a synapse with much smaller
weights (a residual conv branch beside a skip gain near 1) keeps few
significant bits. The plan tries k = 0 and, for each synapse p among the (at
most ``PRIMARIES``) chip synapses with the smallest weights, the shifts that give p its own exponents (E_c = min(hi_c,
e_{p,c}) on p's live channels, k_s = the smallest shift that keeps s unclipped
there, at most ``SHIFT_MAX``, all lowered together so the smallest is 0), and
keeps the candidate whose largest relative weight error over the layer's
synapses is smallest (k = 0 on ties). Host synapses (computed on the host,
quantised as currents) keep k = 0. The layer-wide exponent (``"layer"``
scheme: one E for every channel) is the same construction on one row.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.lower.quantize import exponent, quantise, relative_error

E_MAX = 16
SHIFT_MAX = 7      # Loihi's weight exponent reaches +7 (Lava's Dense: acc << weight_exp)
PRIMARIES = 4      # candidates per layer besides k = 0 (the synapses with the smallest weights)


def row_max(w, c: int, channel: bool) -> np.ndarray:
    """max |W| per output channel (c,), or over all weights (1,) for a layer-wide exponent."""
    a = np.abs(np.asarray(w, np.float64))
    if not channel:
        return np.array([a.max(initial=0.0)])
    return np.broadcast_to(a.reshape(a.shape[0], -1).max(axis=1) if a.ndim else a, (c,)).astype(np.float64)


def own_exponents(rows: np.ndarray, bits: int) -> np.ndarray:
    """e_{s,c}: the exponent each row would take alone (E_MAX for an all-zero row: no constraint)."""
    return np.array([exponent(float(m), bits, hi=E_MAX, empty=E_MAX) for m in rows], np.int64)


def units(e: dict, k: dict, hi: np.ndarray, live: np.ndarray, fill: int) -> np.ndarray:
    """E_c = min(hi_c, min_s (e_{s,c} + k_s)) on live channels; min(hi_c, the smallest live E) on a channel
    no synapse reaches (``fill`` when none is live)."""
    out = hi.astype(np.int64).copy()
    for s, es in e.items():
        out = np.minimum(out, es + k[s])
    if not live.any():
        return np.minimum(out, fill)
    return np.where(live, out, np.minimum(hi, out[live].min()))


def _primaries(e: dict, rows: dict, chip: list) -> list:
    """The ``PRIMARIES`` chip synapses with the smallest weights (largest mean own exponent on their live
    channels): those a shared unit serves worst. Bounded, so a layer fed by many synapses costs linear time."""
    mean = {s: float(e[s][rows[s] > 0].mean()) if (rows[s] > 0).any() else -1.0 for s in chip}
    return sorted(chip, key=lambda s: -mean[s])[:PRIMARIES]


def _candidates(e: dict, rows: dict, chip: list, hi: np.ndarray, live: np.ndarray) -> list[dict]:
    """k = 0, then for each primary synapse p the shifts that give p its own exponents."""
    out = [dict.fromkeys(e, 0)]
    for p in _primaries(e, rows, chip):
        mask = live & (rows[p] > 0)
        if not mask.any():
            continue
        base = np.minimum(hi, e[p])[mask]
        k = {s: (int(np.clip((base - e[s][mask]).max(), 0, SHIFT_MAX)) if s in chip else 0) for s in e}
        low = min(k[s] for s in e) if set(e) == set(chip) else 0
        k = {s: v - low for s, v in k.items()}
        if k not in out:
            out.append(k)
    return out


def choose(weights: dict, rows: dict, chip: list, hi: np.ndarray, fill: int, bits: int,
           finalise) -> tuple[np.ndarray, bool, dict]:
    """(E (C,), per-channel?, shifts {synapse: k != 0}) with the smallest largest weight error (the first
    candidate on ties). ``weights``: synapse -> float weights (axis 0 the output channel);
    ``finalise(E)`` -> (the exponents the layer keeps, per channel?): its scheme, so the error scored is
    the error that runs."""
    e = {s: own_exponents(r, bits) for s, r in rows.items()}
    live = np.any([r > 0 for r in rows.values()], axis=0) if rows else np.zeros(hi.shape, bool)
    cands = _candidates(e, rows, chip, hi, live) if len(chip) > 1 else [dict.fromkeys(e, 0)]
    best = None
    for k in cands:
        E, channel = finalise(units(e, k, hi, live, fill))
        err = 0.0 if len(cands) == 1 else max(
            (_error(w, mantissa_exponent(E, k[s], channel), bits) for s, w in weights.items()), default=0.0)
        if best is None or err < best[0]:
            best = (err, E, channel, k)
    return best[1], best[2], {s: v for s, v in best[3].items() if v}


def _error(w, e, bits: int) -> float:
    return relative_error(w, quantise(w, e, bits)[0], e)


def mantissa_exponent(E: np.ndarray, k: int, channel: bool):
    """A synapse's exponent: E_c - k_s per channel, or one scalar for a layer-wide unit."""
    return (np.asarray(E, np.int64) - k) if channel else np.int64(int(np.asarray(E).reshape(-1)[0]) - k)
