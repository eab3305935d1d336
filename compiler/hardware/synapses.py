"""Synapses of one op, counted exactly in closed form (weight quantisation: ``snnc.compiler.lower``).

``connections(op, input shape, output shape) -> Conn(total, fan_in, fan_out)``
reads the op's ``connections`` trait (compiler/ir/ops), e.g.:

* conv: total = O * (I/g) * (sum_h taps_h) * (sum_w taps_w), with taps_h the
  kernel rows of output row h that land inside the input (not in the padding);
  fan-in = (I/g) * max taps_h * max taps_w; fan-out = (O/g) * max cover_h *
  max cover_w (cover: outputs whose window contains the input index);
* linear: out * in (structural: zero weights are stored too in dense storage);
* avg pools: C * sum taps (weight 1/k^2); global average: C*H*W;
* ChannelAffine (a skip gain): one synapse per element.

Ops without the trait carry no synapses: plumbing, and max pooling of currents,
which is no synapse but not free on hardware either (``snnc.compiler.hardware.pools``).
"""
from __future__ import annotations

from dataclasses import dataclass



@dataclass(frozen=True)
class Conn:
    total: int       # synapses of the op
    fan_in: int      # max synapses into one output element
    fan_out: int     # max synapses out of one input element


def has_synapses(op) -> bool:
    """Whether ``op`` stores synapses on hardware (it has a ``connections`` rule)."""
    return op.has("connections")


def connections(op, in_shape, out_shape) -> Conn:
    return Conn(*op.connections(in_shape, out_shape))
