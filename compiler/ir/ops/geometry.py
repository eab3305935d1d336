"""Index geometry the op traits share: sliding windows, per-channel vectors, channel maps.

Shapes are per sample, channel first. Used by the op classes' rules
(``fanout``, ``fanout_back``, ``connections``, ``box_back``, ``scale_forward``),
so every consumer reads one definition of, e.g., which input pixels a window
covers.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def channel_view(a, ndim: int, batch: bool = True):
    """A per-channel (C,) or broadcast (1,) array shaped to broadcast on the channel axis of a rank-``ndim``
    array: (1, C, 1, ...) with a leading batch axis, (C, 1, ...) without. numpy or torch alike."""
    lead = (1, -1) if batch else (-1,)
    return a.reshape(lead + (1,) * (ndim - len(lead)))


def per_channel(a, channels: int) -> np.ndarray:
    """A (C,) or broadcast (1,) parameter as a float64 (C,) vector."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return np.broadcast_to(a, (channels,)).copy() if a.size == 1 else a


def channel_ones(a, shape) -> np.ndarray:
    """float64 map of ``shape``: 1 on the channels where the per-channel ``a`` is nonzero, else 0."""
    nz = np.broadcast_to(np.asarray(a) != 0, (shape[0],)).astype(np.float64)
    return np.broadcast_to(channel_view(nz, len(shape), batch=False), tuple(shape)).copy()


def respread(a: np.ndarray, src: Sequence[int], dst: Sequence[int]) -> Optional[np.ndarray]:
    """Per-channel vector over shape ``src`` re-read per channel of shape ``dst`` (same elements, row-major;
    None where one ``dst`` channel would see several values)."""
    full = np.broadcast_to(channel_view(a, len(src), batch=False), tuple(src)).reshape(tuple(dst))
    rows = full.reshape(dst[0], -1)
    if not np.all(rows == rows[:, :1]):
        return None
    return rows[:, 0].copy()


def conv_in_channel_map(weight: np.ndarray, groups: int) -> np.ndarray:
    """(O, I/groups) array of the input channel each conv weight column reads."""
    o, ig = weight.shape[:2]
    per = o // groups
    return (np.arange(o)[:, None] // per) * ig + np.arange(ig)[None, :]


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


def window_connections(per_out: int, per_in: int, channels: int, shape_in, shape_out, kernel, stride, pads,
                       dil) -> tuple[int, int, int]:
    """(total, fan-in, fan-out) synapses of a sliding window: ``per_in`` input channels per output,
    ``per_out`` outputs per input channel, taps that land on padding excluded."""
    th, ch = taps_1d(shape_in[1], shape_out[1], kernel[0], stride[0], pads[0], dil[0])
    tw, cw = taps_1d(shape_in[2], shape_out[2], kernel[1], stride[1], pads[1], dil[1])
    total = channels * per_in * int(th.sum()) * int(tw.sum())
    return total, per_in * int(th.max()) * int(tw.max()), per_out * int(ch.max()) * int(cw.max())


def window_transpose(g_out: np.ndarray, in_shape, kernel, stride, padding, dilation) -> np.ndarray:
    """Scatter per-window values back onto the input: F[c, s*h + d*i - p, ...] += g[c, i, j, h, w].

    ``g_out`` has shape (C, kh, kw, oh, ow) or (C, oh, ow) (same value for every tap).
    """
    c, h, w = in_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    pt, pl, pb, pr = padding
    oh, ow = g_out.shape[-2:]
    hp = max(h + pt + pb, (oh - 1) * sh + dh * (kh - 1) + 1)
    wp = max(w + pl + pr, (ow - 1) * sw + dw * (kw - 1) + 1)
    f = np.zeros((c, hp, wp), np.float64)
    for i in range(kh):
        for j in range(kw):
            tap = g_out[:, i, j] if g_out.ndim == 5 else g_out
            f[:, dh * i:dh * i + sh * (oh - 1) + 1:sh, dw * j:dw * j + sw * (ow - 1) + 1:sw] += tap
    return f[:, pt:pt + h, pl:pl + w]


def window_span(r: tuple, k: int, s: int, p0: int, d: int, n: int) -> tuple:
    """Half-open input range read by the output range ``r`` of a window (k, stride s, pad p0, dilation d)."""
    lo, hi = r[0] * s - p0, (r[1] - 1) * s - p0 + d * (k - 1) + 1
    return (max(0, lo), min(n, hi))


def window_box(box, in_shape, kernel, stride, padding, dilation, channels=None) -> tuple:
    """Bounding box of the input read by the output ``box`` of a window op (``channels``: the input channel
    range if not ``box``'s own)."""
    _, h, w = in_shape
    return (box[0] if channels is None else channels,
            window_span(box[1], kernel[0], stride[0], padding[0], dilation[0], h),
            window_span(box[2], kernel[1], stride[1], padding[1], dilation[1], w))
