"""Sigma-delta neurons: every folded IF layer becomes a B-bit graded-spike layer (``--neuron sigma-delta``).

Runs after threshold folding, so the calibrated clip level theta of every
channel is already in the weights (W~ = W * theta_in / theta_out, section 2 of
algorithms.md): the folded activation lives in [0, 1] and the quantisation step
of every channel is step = 1 / (2^B - 1), i.e. theta / (2^B - 1) in the
unfolded units. The step stays on the neuron (not in the weights): the neuron
sends the integer change of its code q (the payload), the synapses scale it by
the folded weight times step. A lowering to fixed point folds step into the
outgoing weights' exponent (integer activations of B bits times the step).

``neuron="if"`` leaves the graph unchanged (the default binary IF network).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UsageError
from snnc.compiler.ir import Graph, IFNeuron, SigmaDeltaNeuron
from snnc.compiler.passes.base import PassResult, rebuild, spec_of

NEURONS = ("if", "sigma-delta")
DEFAULT_ACT_BITS = 8


def check_neuron(neuron: str, act_bits: int) -> None:
    if neuron not in NEURONS:
        raise UsageError(f"neuron must be one of {', '.join(NEURONS)}, got {neuron!r}")
    if isinstance(act_bits, bool) or not isinstance(act_bits, (int, np.integer)) or not 1 <= act_bits <= 31:
        raise UsageError(f"act_bits must be an integer in 1..31, got {act_bits!r}")


def to_sigma_delta(graph: Graph, neuron: str = "if", act_bits: int = DEFAULT_ACT_BITS) -> PassResult:
    check_neuron(neuron, act_bits)
    if neuron == "if":
        return PassResult(graph, ["binary IF neurons (default)"])
    spec, n = [], 0
    for name, op, ins in spec_of(graph):
        if type(op) is IFNeuron:
            c = op.threshold.shape[0]
            step = (op.threshold.astype(np.float64) / (2 ** act_bits - 1)).astype(np.float32)
            op = SigmaDeltaNeuron(threshold=op.threshold, v_init=np.zeros(c, np.float32), reset="subtract",
                                  step=step, bits=int(act_bits))
            n += 1
        spec.append((name, op, ins))
    return PassResult(rebuild(graph, spec),
                      [f"{n} IFNeuron layers -> SigmaDeltaNeuron, {act_bits}-bit activations "
                       f"(step = theta / {2 ** act_bits - 1}), graded payload {act_bits + 1} bit (signed change)"])
