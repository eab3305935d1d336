"""Number formats of a Lava run, read from the deployment plan (``snnc.compiler.lower``).

Floating point (``FloatingPoint``): the plan's float64 weights, thresholds as compiled.

Fixed point (``FixedPoint``): every integer comes from the plan. Layer L's channel c
holds one unit of current as 2**E_c (``Plan.exponents``: one exponent per layer, or
one per output channel where the weights' spread needs it)::

    W_q   = the plan's quantised weights                              (a_in units)
    v, bias, v_init in "v units" = a_in units << 6  (Loihi aligns a_in and vth << 6)
    vth   = round(theta_c * 2**E_c)           17-bit mantissa, used as vth << 6
    v_init= round(v_init_c * 2**(E_c + 6))    24-bit
    bias  = mant << exp,  mant = round(b * 2**(E_c+6) / 2**exp), 13-bit mant, exp in 0..7
    host currents (the direct-coded first layer) = round(I * 2**E_c), 24-bit
    stock mode: graded input x_q = round(x * 2**ib) into the first synapses (ib: the plan's)

The layer's exponent lives in vth / v_init / bias (the same ratio, exactly).
A synapse with a weight exponent k_s (``SynapsePlan.shift``: a residual conv
branch whose weights are much smaller than its skip gain's) runs its b-bit
mantissas q in the layer's unit as q << k_s (``synapse``): Lava's fixed-point
Dense applies ``weight_exp`` to its sum; its fixed-point Conv ignores
``weight_exp``, so it receives the integers q << k_s themselves (the same
arithmetic; Loihi stores the mantissa and the exponent). Dense truncates
mixed-sign 8-bit weights to even values, so it receives ``W_q << (9 - b)``
with ``weight_exp = k_s - (9 - b)``, which is exact (the sum is a multiple of
2**(9 - b) before any right shift).
Arrays in Lava layout (W, H, C) carry the channel last (``lava=True``); in IR
layout (C, H, W) first. Every clip is counted in ``report()``, which also gives
the static worst case of the 24-bit synaptic sums per layer (``overflow``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from snnc.compiler.errors import BackendError, HardwareError
from snnc.compiler.ir import Graph
from snnc.compiler.lower import NumberFormat, Plan, make_plan
from snnc.compiler.lower.plan import V_MAX
from snnc.compiler.lower.quantize import bias_mant_exp
from snnc.runtime.lava.overflow import worst_cases


class FloatingPoint:
    """Identity format (Lava floating_pt models, float64)."""

    tag = "floating_pt"
    fixed = False

    def __init__(self, plan: Optional[Plan] = None):
        self.plan = plan

    def weights(self, node) -> np.ndarray:
        return self.plan.synapses[node.name].weights

    def synapse(self, node) -> np.ndarray:
        return self.weights(node)

    def dense_args(self, w, shift: int = 0) -> dict:
        return {"weights": w}

    def bias(self, sink: str, b: np.ndarray, lava: bool = False) -> np.ndarray:
        return np.asarray(b, np.float64)

    def neuron(self, node) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(node.op.threshold, np.float64), np.asarray(node.op.v_init, np.float64)

    def currents(self, sink: str, values: np.ndarray, lava: bool = False) -> np.ndarray:
        return np.asarray(values, np.float64)

    def logits(self, sink: str, trace: np.ndarray, lava: bool = False) -> np.ndarray:
        return np.asarray(trace, np.float64)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64)

    def report(self) -> dict:
        return {"format": "floating_pt"}


@dataclass
class FixedPoint:
    """The plan's fixed-point numbers (``graph`` lowered by ``make_plan`` unless a ``plan`` is given)."""

    graph: Graph = None
    weight_bits: int = 8
    stock: bool = False
    input_bits: int = 7
    plan: Plan = None
    stats: dict = field(default_factory=dict)

    tag = "fixed_pt"
    fixed = True

    def __post_init__(self):
        if self.plan is None:
            self.plan = make_plan(self.graph, NumberFormat(True, self.weight_bits, self.stock, self.input_bits))
        p = self.plan
        self.graph, self.weight_bits, self.stock = p.graph, p.fmt.weight_bits, p.fmt.stock
        self.sinks, self.host, self.graded, self.ib = p.sinks, p.host, p.graded, p.input_bits
        self.neuron_layers = {n.name for n in p.graph if n.type == "IFNeuron"}
        # {layer: exponent} (an int, or an array of one per output channel for a "channel" layer)
        self.exps = {s: (p.exponents(s) if lay.scheme == "channel" else int(p.exponents(s)[0]))
                     for s, lay in p.layers.items()}
        for s, lay in p.layers.items():
            # "exponent": the largest (that of the largest vth mantissa); "exponents": the range
            self.stats[s] = {"exponent": int(lay.exponents.max()), "exponents": _text(lay.exponents),
                             "scheme": lay.scheme,
                             "weights_clipped": lay.weights_clipped, "bias_clipped": 0, "currents_clipped": 0,
                             "max_abs_weight": lay.max_abs_weight, "weight_error": lay.weight_error}
            if lay.units_zeroed:
                self.stats[s]["units_zeroed"] = dict(lay.units_zeroed)
            if lay.shifts:   # synapse -> weight exponent k_s (mantissas << k_s in the layer's unit)
                self.stats[s]["weight_exponents"] = dict(lay.shifts)
        self.input_max, self.input_stats = None, None

    def _scale(self, sink: str, ndim: int, lava: bool, extra: int = 0) -> np.ndarray:
        """2**(E_c + extra) shaped to broadcast over an ``ndim``-axis array of ``sink``'s values (the channel
        axis last in Lava layout or for a per-channel vector, else the first of the node's axes)."""
        e = self.exps[sink] + extra
        nd = len(self.plan.graph.node(sink).shape)
        if np.ndim(e) == 0:
            return np.float64(2.0 ** e)
        return 2.0 ** (e if lava or nd == 1 or ndim < nd else e.reshape((-1,) + (1,) * (nd - 1)))

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Stock: the graded input spikes round(x * 2**ib), clipped to signed 24 bits (counted)."""
        q = np.round(np.asarray(x, np.float64) * 2.0 ** self.ib)
        self.input_stats = {"input_bits": self.ib, "clipped": int(np.count_nonzero(np.abs(q) > V_MAX))}
        q = np.clip(q, -V_MAX, V_MAX).astype(np.int64)
        self.input_max = int(np.abs(q).max(initial=0))
        return q

    def weights(self, node) -> np.ndarray:
        if node.name not in self.plan.synapses:
            why = "; ".join(f for f in self.plan.compositions if "not composed" in f)
            raise BackendError(f"node {node.name!r}: its current feeds another synapse before any neuron, so "
                               f"it has no fixed-point scale; run without --fixed-point" + (f" ({why})" if why else ""))
        return self.plan.synapses[node.name].weights

    def synapse(self, node) -> np.ndarray:
        """The synapse's integers in its layer's unit, mantissas << k_s (what the reference computes with)."""
        self.weights(node)
        return self.plan.synapses[node.name].units

    def dense_args(self, w, shift: int = 0) -> dict:
        """A Lava Dense for mantissas ``w`` with weight exponent ``shift``."""
        even = 9 - self.weight_bits
        return {"weights": w << even, "num_weight_bits": self.weight_bits, "weight_exp": shift - even}

    def bias(self, sink: str, b: np.ndarray, lava: bool = False) -> np.ndarray:
        mant, exp, clipped = bias_mant_exp(np.asarray(b, np.float64) * self._scale(sink, np.ndim(b), lava, 6))
        self.stats[sink]["bias_clipped"] += clipped
        return mant << exp

    def neuron(self, node) -> tuple[np.ndarray, np.ndarray]:
        lay = self.plan.layers[node.name]
        if lay.problem:
            raise HardwareError(lay.problem)
        vth, v0 = lay.vth, lay.v_init
        self.stats[node.name].update(vth_mantissa=int(vth.max(initial=0)), v_init=int(v0.max(initial=0)))
        return vth, v0

    def currents(self, sink: str, values: np.ndarray, lava: bool = False) -> np.ndarray:
        v = np.asarray(values, np.float64)
        q = np.round(v * self._scale(sink, v.ndim, lava))
        self.stats[sink]["currents_clipped"] += int(np.count_nonzero(np.abs(q) > V_MAX))
        return np.clip(q, -V_MAX, V_MAX).astype(np.int64)

    def logits(self, sink: str, trace: np.ndarray, lava: bool = False) -> np.ndarray:
        t = np.asarray(trace, np.float64)
        return t / self._scale(sink, t.ndim, lava, 6)

    def report(self) -> dict:
        """Exponents and clip counts per layer, and the static 24-bit worst case (``overflow``)."""
        x_max = self.input_max if self.input_max is not None else 2 ** self.ib
        syn = [(self.graph.node(n), p.units, x_max if n in self.graded else 1)
               for n, p in self.plan.synapses.items() if not p.host]
        overflow, warnings = worst_cases(self, syn, stock=self.stock)
        warnings += [f"layer {k!r}: synapse {n!r}: {c} output units have all weights quantised to 0 (the weights "
                     f"span more than 2^{self.weight_bits - 1} and this layer has one exponent: "
                     f"{'stock LIF holds one threshold per layer' if self.stock else 'its currents change layout'})"
                     for k, v in self.stats.items() for n, c in v.get("units_zeroed", {}).items()]
        return {"format": "fixed_pt", "weight_bits": self.weight_bits, "layers": self.stats,
                "input": self.input_stats, "overflow": overflow, "warnings": warnings}


def _text(e) -> str:
    """An exponent vector for a table: ``k`` or ``lo..hi``."""
    e = np.asarray(e)
    lo, hi = (int(e.min()), int(e.max())) if e.size else (0, 0)
    return str(lo) if lo == hi else f"{lo}..{hi}"


def number_format(plan: Plan):
    """The run's arithmetic for ``plan``."""
    return FixedPoint(plan=plan) if plan.fmt.fixed else FloatingPoint(plan)
