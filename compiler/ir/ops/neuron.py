"""Activations and the one spiking op: ReLU, Clip, Identity and the integrate-and-fire neuron."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Optional

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.ops.base import Op, check_channels, register


@register
@dataclass(frozen=True, eq=False)
class ReLU(Op):
    """y = max(x, 0)."""


@register
@dataclass(frozen=True, eq=False)
class Clip(Op):
    """y = min(max(x, lo), hi); ReLU6 is Clip(0, 6). ``lo``/``hi`` may be +-inf."""

    lo: float = 0.0
    hi: float = math.inf


@register
@dataclass(frozen=True, eq=False)
class Identity(Op):
    """y = x (Identity, Dropout at inference); removed by a pass."""

    current_path: ClassVar[bool] = True
    virtual: ClassVar[bool] = True


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

    threshold: np.ndarray = None
    v_init: np.ndarray = None
    reset: str = "subtract"

    def infer(self, shapes):
        check_channels(self, shapes[0], self.threshold)
        check_channels(self, shapes[0], self.v_init)
        if self.reset not in ("subtract", "zero"):
            raise GraphError(f"IFNeuron reset must be 'subtract' or 'zero', got {self.reset!r}")
        return tuple(shapes[0])
