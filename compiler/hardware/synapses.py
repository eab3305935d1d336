"""Synapses of one op, counted exactly in closed form (weight quantisation: ``snnc.compiler.lower``).

``SYNAPSES[op type](op, input shape, output shape) -> Conn(total, fan_in, fan_out)``:

* conv: total = O * (I/g) * (sum_h taps_h) * (sum_w taps_w), with taps_h the
  kernel rows of output row h that land inside the input (not in the padding);
  fan-in = (I/g) * max taps_h * max taps_w; fan-out = (O/g) * max cover_h *
  max cover_w (cover: outputs whose window contains the input index);
* linear: out * in (structural: zero weights are stored too in dense storage);
* avg pools: C * sum taps (weight 1/k^2); global average: C*H*W;
* ChannelAffine (a skip gain): one synapse per element.

Ops not listed carry no synapses: plumbing, and max pooling of currents, which
is no synapse but not free on hardware either (``snnc.compiler.hardware.pools``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.compiler.ir import ops


@dataclass(frozen=True)
class Conn:
    total: int       # synapses of the op
    fan_in: int      # max synapses into one output element
    fan_out: int     # max synapses out of one input element


def taps_1d(n_in: int, n_out: int, k: int, s: int, p0: int, d: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: kernel taps inside the input; per input index: outputs it feeds."""
    taps, cover = np.zeros(n_out, np.int64), np.zeros(n_in, np.int64)
    h = np.arange(n_out)
    for j in range(k):
        idx = h * s - p0 + j * d
        ok = (idx >= 0) & (idx < n_in)
        taps += ok
        np.add.at(cover, idx[ok], 1)
    return taps, cover


def _window_conn(per_out: int, per_in: int, channels: int, shape_in, shape_out, kernel, stride, pads, dil):
    th, ch = taps_1d(shape_in[1], shape_out[1], kernel[0], stride[0], pads[0], dil[0])
    tw, cw = taps_1d(shape_in[2], shape_out[2], kernel[1], stride[1], pads[1], dil[1])
    total = channels * per_in * int(th.sum()) * int(tw.sum())
    return Conn(total, per_in * int(th.max()) * int(tw.max()), per_out * int(ch.max()) * int(cw.max()))


def _conv(op: ops.Conv2d, si, so):
    o, i, kh, kw = op.weight.shape
    return _window_conn(o // op.groups, i, o, si, so, (kh, kw), op.stride, op.padding, op.dilation)


def _pool(op, si, so):
    dil = getattr(op, "dilation", (1, 1))
    return _window_conn(1, 1, si[0], si, so, op.kernel, op.stride, op.padding, dil)


def _elementwise(op, si, so):
    return Conn(int(np.prod(so)), 1, 1)


# op type -> synapse counter; ops not listed here carry no synapses (max pools: hardware.pools)
SYNAPSES = {
    "Conv2d": _conv,
    "Linear": lambda op, si, so: Conn(int(op.weight.size), op.weight.shape[1], op.weight.shape[0]),
    "AvgPool2d": _pool,
    "GlobalAvgPool2d": lambda op, si, so: Conn(int(np.prod(si)), si[1] * si[2], 1),
    "ChannelAffine": _elementwise,
}
