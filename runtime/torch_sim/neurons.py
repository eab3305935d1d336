"""Spike functions, the IF layer's scan over time and the cumulative max pool, in torch.

The recurrences are those of ``IFNeuron`` (algorithms.md sections 1 and 4) and of the
NumPy simulator (``snnc.runtime.numpy_sim.steps``)::

    v(t) = v(t-1) + I(t);  s(t) = H(v(t) - theta) = [v(t) >= theta]
    v(t) <- v(t) - s(t) * theta   (reset="subtract")   or   v(t) * (1 - s(t))   (reset="zero")
    x(t) = s(t) * theta,  v(0) = v_init

    cumulative max pool: C(t) = C(t-1) + I(t), J(t) = max_w C(t) - max_w C(t-1), C(0) = 0

A spike function maps (v, theta) to s. :func:`heaviside` is the exact step
(``v >= theta``, no gradient). :class:`SurrogateSpike` has the same forward and
a surrogate derivative dH/du ~ g'(u), u = v - theta, for backpropagation through
time (Neftci et al. 2019; the kinds and their default sharpness follow
SpikingJelly's ``surrogate`` module)::

    sigmoid:  g(u) = sigmoid(alpha u),                      g' = alpha g (1 - g)           (alpha = 4)
    atan:     g(u) = 1/2 + atan(pi/2 alpha u) / pi,         g' = alpha / 2 / (1 + (pi/2 alpha u)^2)   (alpha = 2)
    triangle: g(u) = 1/2 + w - w|w|/2, w = clamp(alpha u, -1, 1),  g' = alpha max(0, 1 - alpha |u|)  (alpha = 1)

``smooth_forward=True`` makes the forward g(u) itself (a differentiable network:
``torch.autograd.gradcheck`` then checks every surrogate derivative and the whole
backpropagation through time against finite differences).
"""
from __future__ import annotations

import math

import numpy as np

import torch
from torch import nn

from snnc.compiler.ir.ops.geometry import channel_view


def heaviside(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """s = [v >= theta] as v's dtype (the NumPy simulator's comparison); no gradient."""
    return (v >= theta).to(v.dtype)


def _sigmoid(u, a):
    g = torch.sigmoid(a * u)
    return g, a * g * (1 - g)


def _atan(u, a):
    k = math.pi / 2 * a
    return 0.5 + torch.atan(k * u) / math.pi, (a / 2) / (1 + (k * u) ** 2)


def _triangle(u, a):
    au = torch.clamp(a * u, -1.0, 1.0)
    g = 0.5 + au - au * au.abs() / 2          # integral of the triangle, 0 at u <= -1/a, 1 at u >= 1/a
    return g, a * torch.clamp(1 - (a * u).abs(), min=0.0)


SURROGATES = {"sigmoid": (_sigmoid, 4.0), "atan": (_atan, 2.0), "triangle": (_triangle, 1.0)}


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, kind, alpha, smooth):
        ctx.save_for_backward(u)
        ctx.kind, ctx.alpha = kind, alpha
        if smooth:
            return SURROGATES[kind][0](u, alpha)[0]
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad * SURROGATES[ctx.kind][0](u, ctx.alpha)[1], None, None, None


class SurrogateSpike(nn.Module):
    """s = H(v - theta) forward (exactly ``heaviside``), g'(v - theta) backward; see the module docstring."""

    def __init__(self, kind: str = "sigmoid", alpha: float = None, smooth_forward: bool = False):
        super().__init__()
        if kind not in SURROGATES:
            raise ValueError(f"unknown surrogate {kind!r}; choose from {', '.join(SURROGATES)}")
        self.kind, self.alpha = kind, float(SURROGATES[kind][1] if alpha is None else alpha)
        self.smooth_forward = bool(smooth_forward)

    def forward(self, v, theta):
        return _Spike.apply(v - theta, self.kind, self.alpha, self.smooth_forward)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, alpha={self.alpha}" + (", smooth_forward" if self.smooth_forward else "")


def fast_layout(t: torch.Tensor) -> torch.Tensor:
    """Feature maps (N, C, H, W) in channels-last memory order (values unchanged): oneDNN's convolutions and
    max pools run 2-6x faster on it on the CPU (benchmarks/bench_torch.py); other ranks as they are."""
    return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t


def empty_steps(T: int, like: torch.Tensor) -> torch.Tensor:
    """An uninitialised (T, *like.shape) buffer whose step slices have ``like``'s memory layout."""
    fmt = torch.channels_last if like.ndim == 4 else torch.contiguous_format
    flat = torch.empty((T * like.shape[0],) + like.shape[1:], dtype=like.dtype, device=like.device, memory_format=fmt)
    return flat.view((T,) + like.shape)


class IFLayer(nn.Module):
    """One ``IFNeuron`` node: threshold and v_init per channel (``nn.Parameter``s, frozen unless
    ``learn_threshold``), reset rule, and the scan over a chunk of steps."""

    def __init__(self, op, dtype, learn_threshold: bool = False):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(np.array(op.threshold), dtype=dtype), learn_threshold)
        self.v_init = nn.Parameter(torch.tensor(np.array(op.v_init), dtype=dtype), learn_threshold)
        self.reset = op.reset

    def start(self, n: int, shape) -> torch.Tensor:
        """v(0) = v_init broadcast to (N, *shape)."""
        return fast_layout(channel_view(self.v_init, len(shape) + 1).expand((n,) + tuple(shape)).clone())

    def scan(self, v, cur, T: int, const: bool, spike_fn):
        """Run T steps from membrane v (N, *shape); ``cur`` is (T, N, *shape), or (N, *shape) every step when
        ``const``. Return (x(t) (T, N, *shape), spikes (T, N, *shape) as v's dtype, v(T))."""
        theta = channel_view(self.threshold, v.ndim)
        if spike_fn is heaviside and not torch.is_grad_enabled():
            return self._scan_inplace(v.clone(), cur, T, const, theta)
        out = []
        for t in range(T):
            v = v + (cur if const else cur[t])
            s = spike_fn(v, theta)
            v = v - s * theta if self.reset == "subtract" else v * (1 - s)
            out.append(s)
        s = torch.stack(out)
        return s * theta, s, v

    def _scan_inplace(self, v, cur, T, const, theta):
        """The same recurrence with in-place ops (inference: no autograd graph)."""
        unit = bool(torch.all(self.threshold == 1))
        spikes = empty_steps(T, v)
        cmp = 1.0 if unit else theta
        for t in range(T):
            v.add_(cur if const else cur[t])
            s = torch.ge(v, cmp, out=spikes[t])       # the comparison written as 0/1 in v's dtype
            if self.reset == "zero":
                v.masked_fill_(s.bool(), 0.0)
            elif unit:
                v.sub_(spikes[t])
            else:
                v.sub_(spikes[t] * theta)
        return (spikes if unit else spikes * theta), spikes, v



class SigmaDeltaLayer(nn.Module):
    """One ``SigmaDeltaNeuron`` node (B-bit graded spikes), the NumPy reference's semantics
    (``snnc.runtime.numpy_sim.sigma_delta``; algorithms.md, section sigma-delta)::

        q(t) = clip(floor(sigma(t) / step + 1/2), 0, 2^B - 1),  s(t) = q(t) - q(t-1),  q(0) = 0
        x(t) = step * q(t)     (what the receivers' sums hold: the sum of the graded spikes times step)

    sigma(t) is the layer's input at step t (every synaptic op applied to the reconstructed values
    x(t) of the layers before). ``threshold`` (theta, the clip level) and ``step`` are frozen:
    the quantiser has no useful gradient. The state between chunks is q(t) (N, *shape)."""

    def __init__(self, op, dtype):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(np.array(op.threshold), dtype=dtype), False)
        self.register_buffer("step", torch.tensor(np.array(op.step), dtype=dtype))
        self.bits = int(op.bits)

    def start(self, n: int, shape) -> torch.Tensor:
        """q(0) = 0, (N, *shape)."""
        return fast_layout(torch.zeros((n,) + tuple(shape), dtype=self.step.dtype, device=self.step.device))

    def code(self, sigma: torch.Tensor, ndim: int) -> torch.Tensor:
        """q = clip(floor(sigma / step + 1/2), 0, 2^B - 1) in sigma's dtype (``activation_code``); ``ndim``:
        the rank of one step's tensor (N, *shape)."""
        q = torch.floor(sigma / channel_view(self.step, ndim) + 0.5)
        return torch.clamp(q, 0.0, float(2 ** self.bits - 1))

    def scan(self, q_prev, sigma, T: int, const: bool):
        """T steps from the code q_prev; ``sigma`` is (T, N, *shape), or (N, *shape) every step when
        ``const``. Return (x(t) (T, N, *shape), payloads s(t) (T, N, *shape), q(T))."""
        q = self.code(sigma, q_prev.ndim)
        q = q.unsqueeze(0).expand((T,) + q.shape) if const else q
        s = torch.cat([(q[0] - q_prev)[None], q[1:] - q[:-1]])
        return q * channel_view(self.step, q_prev.ndim), s, q[-1]

def cumulative_pool(pool, c, m_prev, cur, T: int):
    """J(t) = pool(C(t)) - pool(C(t-1)), C(t) = C(t-1) + I(t) for a chunk; ``cur`` is (T * N, *in_shape).
    Return (J as (T * N, *out_shape), C(T), pool(C(T)))."""
    n = c.shape[0]
    cur = cur.reshape((T,) + c.shape)
    if torch.is_grad_enabled():
        sums = []
        for t in range(T):        # ((c + I1) + I2) ... in the working dtype, as the NumPy simulator adds
            c = c + cur[t]
            sums.append(c)
        sums = torch.stack(sums)
    else:
        sums = empty_steps(T, c)
        for t in range(T):
            c = torch.add(c, cur[t], out=sums[t])
    m = pool(sums.reshape((T * n,) + c.shape[1:])).reshape((T,) + m_prev.shape)
    if torch.is_grad_enabled():
        j = m - torch.cat([m_prev[None], m[:-1]])
    else:
        j = empty_steps(T, m[0])
        torch.sub(m[0], m_prev, out=j[0])
        torch.sub(m[1:], m[:-1], out=j[1:])
    return j.reshape((T * n,) + m_prev.shape[1:]), sums[-1], m[-1]
