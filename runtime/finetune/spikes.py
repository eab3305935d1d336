"""The activation functions the fine-tuning methods train through, as torch autograd functions.

All act on folded networks (threshold 1, v(0) = 0.5, spike on v >= 1; see
``IFNeuron``) and are called as the torch simulator calls a spike function,
``s = fn(v, theta)``.

``RectSpike(width)``: the STBP rectangular surrogate (Wu et al. 2018, used by
IDSNN section 3.1 Eq. 4 and by pipe-S's SNN stage, section III.B)::

    forward  s = [v >= theta]
    backward ds/dv = 1/width  where |v - theta| < width / 2, else 0

IDSNN's Eq. 4 takes a neighbourhood of half-length ``lens`` on each side of
U_th with height 1 / (2 lens), and its Algorithm 1 uses dF/dU = 1 / (2 U_th),
i.e. lens = U_th: width = 2 theta = 2. STBP's own choice (a = 1) is width 1.

``srelu(z, a)``: pipe-S's progressively sharpened ReLU (pipe-S section III.C,
Eqs. 6-7) with alpha = a, beta = 2 U - a::

    forward  F(z) = clip((z - a) / (beta - a), 0, 1)      (the step [z >= U] once a = U)
    backward F'(z) = 1 on [0, 2 U], else 0

U is the *effective* one-step threshold: a folded IF neuron starts at
v(0) = 0.5 and fires in its first step iff z >= 0.5, so U = 0.5 here
(docs/algorithms.md, "Fine-tuning", states this mapping). At a = 0 the SReLU
is clip(z, 0, 1), exactly the converted network's clip-ANN; at a = U it is
the one-step spiking activation.
"""
from __future__ import annotations

import torch

U_EFF = 0.5   # one-step firing threshold of a folded IF neuron with v(0) = 0.5


class _Rect(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, theta, width):
        ctx.save_for_backward(v, theta)
        ctx.width = width
        return (v >= theta).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        v, theta = ctx.saved_tensors
        inside = ((v - theta).abs() < ctx.width / 2).to(grad.dtype)
        return grad * inside / ctx.width, None, None


class RectSpike:
    """s = [v >= theta]; ds/dv = 1/width on |v - theta| < width/2 (the STBP rectangle)."""

    def __init__(self, width: float):
        self.width = float(width)

    def __call__(self, v, theta):
        return _Rect.apply(v, theta, self.width)

    def record(self) -> dict:
        return {"surrogate": "rectangle", "width": self.width, "height": 1.0 / self.width}


class _SReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, a):
        ctx.save_for_backward(z)
        b = 2 * U_EFF - a
        if b - a <= 1e-6:
            return (z >= U_EFF).to(z.dtype)
        return torch.clamp((z - a) / (b - a), 0.0, 1.0)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * ((z >= 0) & (z <= 2 * U_EFF)).to(grad.dtype), None


def srelu(z: torch.Tensor, a: float) -> torch.Tensor:
    """pipe-S's SReLU with alpha = a in [0, U_EFF] (see the module docstring)."""
    return _SReLU.apply(z, float(a))
