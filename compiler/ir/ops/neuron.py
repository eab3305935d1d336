"""Activations and the one spiking op: ReLU, Clip, Identity and the integrate-and-fire neuron."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, Pointwise, check_channels, register


@register
@dataclass(frozen=True, eq=False)
class ReLU(Pointwise, Op):
    """y = max(x, 0)."""


@register
@dataclass(frozen=True, eq=False)
class Clip(Pointwise, Op):
    """y = min(max(x, lo), hi); ReLU6 is Clip(0, 6). ``lo``/``hi`` may be +-inf."""

    lo: float = 0.0
    hi: float = math.inf


@register
@dataclass(frozen=True, eq=False)
class Identity(Pointwise, Op):
    """y = x (Identity, Dropout at inference); removed by a pass."""

    current_path: ClassVar[bool] = True
    virtual: ClassVar[bool] = True


RESETS = ("subtract", "zero")   # the neuron's reset rules (IFNeuron.reset)


@register
@dataclass(frozen=True, eq=False)
class IFNeuron(Op):
    """Integrate-and-fire neurons, one threshold per channel (algorithms.md section 1).

    For t = 1..T with input current I(t) (the producer's output at step t)::

        v(t) = v(t-1) + I(t)
        s(t) = 1 if v(t) >= theta else 0          (comparison: >=, all backends)
        v(t) = v(t) - s(t) * theta                (reset="subtract")
        v(t) = v(t) * (1 - s(t))                  (reset="zero")
        x(t) = s(t) * theta                       (postsynaptic potential)
        v(0) = v_init                             (0.5 * theta by default)

    In an ANN (the clip-ANN) the same node computes clip(z, 0, theta), the
    function the spike rate approximates. ``threshold``/``v_init`` have shape
    (C,) (one per channel of a conv map or per feature of a vector). After
    threshold folding ``threshold`` is 1 and spikes are binary.
    """

    spiking: ClassVar[bool] = True
    netx: ClassVar[Optional[str]] = "CUBA"            # netx's CUBA (Lava LIF) neurons, reset to zero

    threshold: np.ndarray = None
    v_init: np.ndarray = None
    reset: str = "subtract"

    def infer(self, shapes):
        check_channels(self, shapes[0], self.threshold)
        check_channels(self, shapes[0], self.v_init)
        if self.reset not in RESETS:
            raise GraphError(f"IFNeuron reset must be one of {', '.join(RESETS)}, got {self.reset!r}")
        return tuple(shapes[0])

    def fanout(self, in_shape, out):
        """Reached directly by a spike (an identity skip into an Add): one synaptic operation per element."""
        return np.ones(in_shape, np.float64)


def activation_code(x: np.ndarray, step: np.ndarray, bits: int) -> np.ndarray:
    """q = clip(floor(x / step + 1/2), 0, 2^B - 1): the B-bit activation code (round half up), float32."""
    q = np.floor(np.divide(x, step, dtype=np.float32) + np.float32(0.5))
    return np.clip(q, 0.0, float(2 ** bits - 1)).astype(np.float32)


@register
@dataclass(frozen=True, eq=False)
class SigmaDeltaNeuron(IFNeuron):
    """Sigma-delta neurons with B-bit graded spikes (Loihi 2; lava.proc.sdn.SigmaDelta's dynamics).

    ``step`` (C,) is the quantisation step per channel, ``bits`` = B; after
    threshold folding the clip level theta is 1 and step = 1 / (2^B - 1). For
    t = 1..T with synaptic input a(t)::

        sigma(t)  = sigma(t-1) + a(t)                          sigma: accumulate graded inputs
        q(t)      = clip(floor(sigma(t) / step + 1/2), 0, 2^B - 1)   B-bit activation code
        delta(t)  = q(t) - q(t-1) + r(t-1)                     delta encoding (Lava's residue r)
        s(t)      = delta(t) if |delta(t)| >= vth else 0       graded spike, vth = 1 (one step)
        r(t)      = delta(t) - s(t)
        x(t)      = s(t) * step                                what the synapses receive

    q is an integer, so with vth = 1 every change is sent and r stays 0: the
    receivers' sums reconstruct step * q(t) exactly, and a synaptic layer's
    sigma equals W (step * q(t)) + b, the B-bit quantised ANN (its ANN meaning
    is ``activation_code``: step * clip(round(z / step), 0, 2^B - 1) = clip(z, 0, theta)
    on the B-bit grid). The payload is the signed change s(t), B + 1 bits.
    Deviation from stock Lava: its act_fx is ReLU only; the clip at 2^B - 1
    and the rounding to the step belong to act_fx here (algorithms.md, section
    sigma-delta). Subclass of :class:`IFNeuron` only for the neuron-layer role
    (``threshold`` = theta, the clip level; ``v_init`` and ``reset`` unused):
    every simulator dispatches on the exact type.
    """

    layer_exponents: ClassVar[bool] = True        # Lava's SigmaDelta: one vth and one state_exp a layer
    exponent_max: ClassVar[Optional[int]] = 7     # state_exp = the layer's exponent: a 3-bit field on Loihi 2
    netx: ClassVar[Optional[str]] = "SDNN"

    step: np.ndarray = None
    bits: int = 8

    def infer(self, shapes):
        check_channels(self, shapes[0], self.step)
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= int(self.bits) <= 31:
            raise GraphError(f"SigmaDeltaNeuron bits must be an integer in 1..31, got {self.bits!r}")
        return super().infer(shapes)
