"""Number formats of a sigma-delta network on Lava's stock ``lava.proc.sdn.SigmaDelta`` (floating or fixed point).

Stock ``SigmaDelta`` (lava-nc 0.10, ``lava/proc/sdn/models.py``) per step::

    sigma  += a_in                                  (no reset: the state runs on across samples)
    act     = max(sigma + bias * 2**(spike_exp + state_exp), 0)     (act_mode RELU)
    delta   = act - act_prev + residue
    s       = delta if |delta| >= vth * 2**(spike_exp + state_exp) else 0
    residue = delta - s;  act_prev = act
    s_out   = s >> state_exp                        (fixed point; float: s_out = s)

Floating point (``SDFloat``): the plan's float weights, vth = step (one
quantisation step, 1 / (2^B - 1) after threshold folding), bias = b: the
receivers' sums hold act - residue, |residue| < step.

Fixed point (``SDFixed``), one exponent k_L <= 7 per layer (the lowering stage's plan for a
sigma-delta graph, op traits ``layer_exponents``: ``SigmaDelta`` holds one vth and one state_exp,
and ``exponent_max``: state_exp is a 3-bit field, so the plan caps k_L at 7), and
graded payloads with F = min(B + 4, 21 - max k) fractional bits (a payload unit 2**-F, a
step 1 / (2^B - 1) ~ 2**(F - B) units; sigma = act 2**(k + F) fits 24 bits for act < 4)::

    W_q      = the plan's quantise(W~, k_L)                  (8-bit weights)
    sigma    in units 2**-(k_L + F)  (payload 2**-F times W_q in 2**-k_L)
    state_exp = k_L, spike_exp = 0:  s_out = s >> k_L, a payload in units 2**-F
    vth      = max(1, round(2**F * step)),  bias = round(b * 2**F)
    host current into the first layer: round(I * 2**(k_1 + F)), sent once per sample (its change)
    readout: sigma + round(b * 2**(k + F)), divided by 2**(k + F)

The right shift drops the low k_L bits of every sent change (not kept in the
residue), so a receiver's sum differs from act by the residue plus the
dropped bits. The floor loses half a payload unit per sent change on average,
and nothing is reset between samples, so the error drifts downwards along a
stream of samples: the backend runs at most ``CHUNK`` samples per Lava run
(each a new process graph, fresh state). The NumPy model (``sd_reference``)
computes the same integers, chunks included.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import SigmaDeltaNeuron
from snnc.compiler.lower import NumberFormat, Plan, make_plan
from snnc.compiler.lower.plan import V_MAX

STATE_EXP_MAX = SigmaDeltaNeuron.exponent_max   # SigmaDelta's state_exp is a 3-bit field: the plan caps k there
EXTRA_BITS = 4           # payload fractional bits beyond B: the s >> k truncation drifts 16x slower
SIGMA_BITS = 21          # sigma = act 2**(k + F) stays below 2**23 for |act| < 4 (folded units)
CHUNK = 200              # samples per Lava run: a new run (fresh state) bounds the truncation drift


def sd_plan(graph, fixed: bool, weight_bits: int = 8) -> Plan:
    """The deployment plan a sigma-delta run reads: custom host prefix, one exponent per layer (the lowering
    stage's rule for ``SigmaDeltaNeuron`` graphs: ``layer_exponents``)."""
    return make_plan(graph, NumberFormat(fixed, weight_bits, stock=False))


def _step(node) -> float:
    step = np.unique(np.asarray(node.op.step, np.float64))
    if step.size != 1:
        raise BackendError(f"SigmaDeltaNeuron {node.name!r}: Lava's SigmaDelta holds one threshold per layer, "
                           f"this layer has {step.size} different steps (recompile: threshold folding makes them equal)")
    return float(step[0])


class SDFloat:
    tag, fixed = "floating_pt", False

    def __init__(self, plan: Plan):
        self.plan = plan

    def weights(self, node) -> np.ndarray:
        return self.plan.synapses[node.name].weights

    def dense_args(self, w) -> dict:
        return {"weights": w}

    def currents(self, sink: str, values) -> np.ndarray:
        return np.asarray(values, np.float64)

    def sd_params(self, node, bias) -> dict:
        """SigmaDelta arguments for ``node`` (``bias`` in IR units, Lava layout)."""
        return {"vth": _step(node), "bias": np.asarray(bias, np.float64), "spike_exp": 0, "state_exp": 0}

    def bias(self, sink: str, b, lava: bool = False) -> np.ndarray:
        return np.asarray(b, np.float64)

    def logits(self, sink: str, trace, lava: bool = False) -> np.ndarray:
        return np.asarray(trace, np.float64)

    def report(self) -> dict:
        return {"format": "floating_pt", "neurons": "lava.proc.sdn.SigmaDelta (RELU)"}


class SDFixed:
    tag, fixed = "fixed_pt", True

    def __init__(self, plan: Plan):
        self.plan = plan
        self.weight_bits = plan.fmt.weight_bits
        layers = [n for n in plan.graph if isinstance(n.op, SigmaDeltaNeuron)]
        self.k = {s: int(lay.exponents[0]) for s, lay in plan.layers.items()}
        bits = max((int(n.op.bits) for n in layers), default=8)
        self.frac = max(1, min(bits + EXTRA_BITS, SIGMA_BITS - max((self.k[n.name] for n in layers), default=0)))
        self.clipped = {s: 0 for s in self.k}
        self.warnings = [f"layer {s!r}: state_exp capped at {STATE_EXP_MAX} (SigmaDelta's 3-bit field): its "
                         f"weights would take exponent {c['exponent']}, relative weight error "
                         f"{c['weight_error_uncapped']:.4f} there, {plan.layers[s].weight_error:.4f} at "
                         f"{c['capped_to']}" for s in self.k if (c := plan.layers[s].capped)]

    def unit(self, sink: str) -> int:
        """sigma of ``sink`` counts units of 2**-(k + F)."""
        return self.k[sink] + self.frac

    def weights(self, node) -> np.ndarray:
        if node.name not in self.plan.synapses:
            raise BackendError(f"node {node.name!r}: its current feeds another synapse before any neuron, so "
                               f"it has no fixed-point scale; run without --fixed-point")
        return self.plan.synapses[node.name].weights

    def dense_args(self, w) -> dict:
        shift = 9 - self.weight_bits   # mixed-sign Dense keeps even 8-bit values: exact with weight_exp = -shift
        return {"weights": np.asarray(w, np.int64) << shift, "num_weight_bits": self.weight_bits,
                "weight_exp": -shift}

    def currents(self, sink: str, values) -> np.ndarray:
        q = np.round(np.asarray(values, np.float64) * 2.0 ** self.unit(sink))
        self.clipped[sink] += int(np.count_nonzero(np.abs(q) > V_MAX))
        return np.clip(q, -V_MAX, V_MAX).astype(np.int64)

    def sd_params(self, node, bias) -> dict:
        step = _step(node)
        return {"vth": max(1, int(round(2.0 ** self.frac * step))), "spike_exp": 0, "state_exp": self.k[node.name],
                "bias": np.round(np.asarray(bias, np.float64) * 2.0 ** self.frac).astype(np.int64)}

    def bias(self, sink: str, b, lava: bool = False) -> np.ndarray:
        return np.round(np.asarray(b, np.float64) * 2.0 ** self.unit(sink)).astype(np.int64)

    def logits(self, sink: str, trace, lava: bool = False) -> np.ndarray:
        return np.asarray(trace, np.float64) / 2.0 ** self.unit(sink)

    def report(self) -> dict:
        sd = {n.name: n for n in self.plan.graph if isinstance(n.op, SigmaDeltaNeuron)}
        layers = {s: {"exponent": k, "state_exp": k if s in sd else None, "currents_clipped": self.clipped[s],
                      "vth_mantissa": self.sd_params(sd[s], 0)["vth"] if s in sd else "-",
                      "weights_clipped": self.plan.layers[s].weights_clipped, "bias_clipped": 0}
                  for s, k in self.k.items()}
        return {"format": "fixed_pt", "neurons": "lava.proc.sdn.SigmaDelta (RELU)", "weight_bits": self.weight_bits,
                "payload_frac_bits": self.frac, "layers": layers, "warnings": list(self.warnings),
                "note": f"{self.weight_bits}-bit weights, one exponent k per layer; stock SigmaDelta with state_exp = k: "
                        f"sigma in units 2^-(k + {self.frac}), payload s >> k in units 2^-{self.frac}, vth in payload "
                        f"units (one step ~ 2^-{self.frac})"}


def sd_numbers(plan: Plan):
    return SDFixed(plan) if plan.fmt.fixed else SDFloat(plan)
