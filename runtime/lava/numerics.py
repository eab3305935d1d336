"""Number formats of a Lava run: floating point, or Loihi fixed point with per-layer exponents.

Fixed point (``FixedPoint``). Each integrating layer L (an IFNeuron or the
readout) gets an exponent k_L chosen from the largest weight of the synapses
that feed it, so the weights use the profile's ``weight_bits`` (b, default 8)::

    k_L   = clip(floor(log2((2**(b-1) - 1) / max|W|)), 0, 16)
    W_q   = clip(round(W * 2**k_L), -2**(b-1), 2**(b-1) - 1)         (a_in units)
    v, bias, v_init in "v units" = a_in units << 6  (Loihi aligns a_in and vth << 6)
    vth   = round(theta * 2**k_L)            17-bit mantissa, used as vth << 6
    v_init= round(v_init * 2**(k_L + 6))     24-bit
    bias  = mant << exp,  mant = round(b * 2**(k_L+6) / 2**exp), 13-bit mant, exp in 0..7
    host currents (the direct-coded first layer) = round(I * 2**k_L), 24-bit
    stock mode (no host current source): graded input x_q = round(x * 2**ib) into the first
    synapses, so their layer holds 2**(k_L + ib) per unit of current: vth, bias, logits use
    k_L + ib (ib <= input_bits, the largest that keeps vth within 17 bits)

Lava's fixed-point Conv ignores ``weight_exp``, so no weight exponent is ever
used on a synapse: the exponent lives in vth / v_init / bias instead (the same
ratio, exactly). Dense truncates mixed-sign 8-bit weights to even values, so
it receives ``W_q << (9 - b)`` with ``weight_exp = -(9 - b)``, which is exact.
Every clip is counted in ``report()``, which also gives the static worst case of the
24-bit synaptic sums per layer (``overflow``) and a warning naming each layer that
may wrap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.errors import BackendError, HardwareError
from snnc.compiler.ir import Graph
from snnc.runtime.lava.graphwalk import SYNAPSES, current_sinks, graded_synapses, host_nodes
from snnc.runtime.lava.overflow import worst_cases

VTH_MAX = 2 ** 17 - 1
V_MAX = 2 ** 23 - 1


class FloatingPoint:
    """Identity format (Lava floating_pt models, float64)."""

    tag = "floating_pt"
    fixed = False

    def weights(self, node) -> np.ndarray:
        return np.asarray(_weight(node), np.float64)

    def dense_args(self, w) -> dict:
        return {"weights": w}

    def bias(self, sink: str, b: np.ndarray) -> np.ndarray:
        return np.asarray(b, np.float64)

    def neuron(self, node) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(node.op.threshold, np.float64), np.asarray(node.op.v_init, np.float64)

    def currents(self, sink: str, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, np.float64)

    def logits(self, sink: str, trace: np.ndarray) -> np.ndarray:
        return np.asarray(trace, np.float64)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64)

    def report(self) -> dict:
        return {"format": "floating_pt"}


def _weight(node) -> np.ndarray:
    return node.op.scale if node.type == "ChannelAffine" else node.op.weight


@dataclass
class FixedPoint:
    graph: Graph
    weight_bits: int = 8
    stock: bool = False            # stock processes: the input enters the first synapses graded
    input_bits: int = 7            # stock: graded input x_q = round(x * 2**ib), ib <= input_bits
    exps: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    tag = "fixed_pt"
    fixed = True

    def __post_init__(self):
        if not 2 <= self.weight_bits <= 9:
            raise HardwareError(f"{self.weight_bits}-bit weights: Lava's fixed-point Dense keeps at most 9-bit "
                                f"signed weights (2..9 bits)")
        self.sinks = current_sinks(self.graph)
        self.host = host_nodes(self.graph, self.stock)
        self.graded = graded_synapses(self.graph) if self.stock else set()
        self.neuron_layers = {n.name for n in self.graph if n.type == "IFNeuron"}
        wmax: dict[str, float] = {}
        for n in self.graph:
            if n.type in SYNAPSES and n.name in self.sinks:
                s = self.sinks[n.name]
                wmax[s] = max(wmax.get(s, 0.0), float(np.abs(_weight(n)).max(initial=0.0)))
        qmax = 2 ** (self.weight_bits - 1) - 1
        for s in dict.fromkeys(n.name for n in self.graph if self.sinks.get(n.name) == n.name):
            m = wmax.get(s, 0.0)
            k = math.floor(math.log2(qmax / m)) if m > 0 else 6
            self.exps[s] = int(min(max(k, 0), 16))
            self.stats[s] = {"exponent": self.exps[s], "weights_clipped": 0, "bias_clipped": 0,
                             "currents_clipped": 0, "max_abs_weight": m}
        self.shift, self.input_max, self.input_stats = self._input_scale(), None, None

    def _input_scale(self) -> dict:
        """Stock: layers fed by the graded input x_q = round(x 2**ib) hold 2**(k + ib) per unit of current.

        One ib for the input: the largest <= input_bits that keeps every such layer's
        vth = theta 2**(k + ib) within 17 bits."""
        fed = {self.sinks[s] for s in self.graded}
        for s in fed:
            other = [n.name for n in self.graph if n.type in SYNAPSES and self.sinks.get(n.name) == s
                     and n.name not in self.graded]
            if other:
                raise BackendError(f"layer {s!r} sums the graded input and spikes ({other[0]!r}); stock mode "
                                   f"needs one scale per layer")
        caps = [math.floor(math.log2(VTH_MAX / float(np.max(self.graph.node(s).op.threshold)))) - self.exps[s]
                for s in fed if s in self.neuron_layers]
        self.ib = int(max(0, min([self.input_bits] + caps))) if fed else 0
        return {s: self.ib for s in fed}

    def _k(self, sink: str) -> int:
        """Weight exponent of the synapses into ``sink``."""
        return self.exps[sink]

    def _e(self, sink: str) -> int:
        """Exponent of one unit of current in ``sink`` (a_in units); v units are 2**(e + 6)."""
        return self.exps[sink] + self.shift.get(sink, 0)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Stock: the graded input spikes round(x * 2**ib), clipped to signed 24 bits (counted)."""
        q = np.round(np.asarray(x, np.float64) * 2.0 ** self.ib)
        self.input_stats = {"input_bits": self.ib, "clipped": int(np.count_nonzero(np.abs(q) > V_MAX))}
        q = np.clip(q, -V_MAX, V_MAX).astype(np.int64)
        self.input_max = int(np.abs(q).max(initial=0))
        return q

    def weights(self, node) -> np.ndarray:
        q, clipped = self._quantise(node)
        st = self.stats[self.sinks[node.name]]
        st["weights_clipped"] += clipped
        w = np.asarray(_weight(node)).reshape(np.shape(_weight(node))[0], -1)
        dead = int(np.count_nonzero(np.any(w != 0, axis=1) & ~np.any(q.reshape(w.shape) != 0, axis=1)))
        if dead:  # output units whose every weight rounds to 0 at the layer's one exponent
            st.setdefault("units_zeroed", {})[node.name] = f"{dead} of {w.shape[0]}"
        return q

    def _quantise(self, node) -> tuple[np.ndarray, int]:
        lim = 2 ** (self.weight_bits - 1)
        q = np.round(np.asarray(_weight(node), np.float64) * 2.0 ** self._k(self.sinks[node.name]))
        return np.clip(q, -lim, lim - 1).astype(np.int64), int(np.count_nonzero((q < -lim) | (q > lim - 1)))

    def dense_args(self, w) -> dict:
        shift = 9 - self.weight_bits
        return {"weights": w << shift, "num_weight_bits": self.weight_bits, "weight_exp": -shift}

    def bias(self, sink: str, b: np.ndarray) -> np.ndarray:
        bv = np.asarray(b, np.float64) * 2.0 ** (self._e(sink) + 6)
        exp = np.zeros(bv.shape, np.int64)
        while True:
            mant = np.round(bv / 2.0 ** exp)
            big = (np.abs(mant) > 4095) & (exp < 7)
            if not big.any():
                break
            exp[big] += 1
        over = np.abs(mant) > 4095
        self.stats[sink]["bias_clipped"] += int(np.count_nonzero(over))
        return np.clip(mant, -4095, 4095).astype(np.int64) << exp

    def neuron(self, node) -> tuple[np.ndarray, np.ndarray]:
        k = self._e(node.name)
        vth = np.round(np.asarray(node.op.threshold, np.float64) * 2.0 ** k).astype(np.int64)
        v0 = np.round(np.asarray(node.op.v_init, np.float64) * 2.0 ** (k + 6)).astype(np.int64)
        if vth.max(initial=0) > VTH_MAX or vth.min(initial=1) < 1:
            raise HardwareError(f"IFNeuron {node.name!r}: threshold mantissa {vth.min()}..{vth.max()} "
                                f"(exponent {k}) does not fit Loihi's 17-bit vth (1..{VTH_MAX})")
        if np.abs(v0).max(initial=0) > V_MAX:
            raise HardwareError(f"IFNeuron {node.name!r}: initial potential exceeds 24 bits")
        self.stats[node.name].update(vth_mantissa=int(vth.max(initial=0)), v_init=int(v0.max(initial=0)))
        return vth, v0

    def currents(self, sink: str, values: np.ndarray) -> np.ndarray:
        q = np.round(np.asarray(values, np.float64) * 2.0 ** self._e(sink))
        self.stats[sink]["currents_clipped"] += int(np.count_nonzero(np.abs(q) > V_MAX))
        return np.clip(q, -V_MAX, V_MAX).astype(np.int64)

    def logits(self, sink: str, trace: np.ndarray) -> np.ndarray:
        return np.asarray(trace, np.float64) / 2.0 ** (self._e(sink) + 6)

    def report(self) -> dict:
        """Exponents and clip counts per layer, and the static 24-bit worst case (``overflow``)."""
        x_max = self.input_max if self.input_max is not None else 2 ** self.ib
        syn = [(n, self._quantise(n)[0], x_max if n.name in self.graded else 1) for n in self.graph
               if n.type in SYNAPSES and n.name in self.sinks and n.name not in self.host]
        overflow, warnings = worst_cases(self, syn, stock=self.stock)
        warnings += [f"layer {k!r}: synapse {n!r}: {c} output units have all weights quantised to 0 (the weights "
                     f"span more than 2^{self.weight_bits - 1}, typically per-channel thresholds folded in by cltb; "
                     f"compile with --method ltb for fixed point)"
                     for k, v in self.stats.items() for n, c in v.get("units_zeroed", {}).items()]
        return {"format": "fixed_pt", "weight_bits": self.weight_bits, "layers": self.stats,
                "input": self.input_stats, "overflow": overflow, "warnings": warnings}
