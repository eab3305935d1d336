"""Membrane initialisation and reset mode of every (folded) IFNeuron layer.

After threshold folding every threshold is 1; the membrane starts at half
threshold, v(0) = 0.5 (algorithms.md section 1): with reset by subtraction
this rounds the spike count to nearest instead of flooring it, so after T
steps the count is within 0.5 of T * clip(z, 0, 1) for constant input.
``reset`` is ``subtract`` (default) or ``zero`` (stock Loihi LIF; loses the
residual charge and costs accuracy, see the simulator's report).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UsageError
from snnc.compiler.ir import Graph, IFNeuron
from snnc.compiler.ir.ops.neuron import RESETS
from snnc.compiler.passes.base import PassResult, rebuild, replace_op, spec_of



def check_reset(reset: str) -> None:
    """UsageError unless ``reset`` is one of ``RESETS`` (the option, checked before any work)."""
    if reset not in RESETS:
        raise UsageError(f"reset must be one of {', '.join(RESETS)}, got {reset!r}")


def init_membrane(graph: Graph, v_init: float = 0.5, reset: str = "subtract") -> PassResult:
    check_reset(reset)
    spec, n_layers = [], 0
    for name, op, ins in spec_of(graph):
        if isinstance(op, IFNeuron):
            op = replace_op(op, v_init=(v_init * op.threshold).astype(np.float32), reset=reset)
            n_layers += 1
        spec.append((name, op, ins))
    return PassResult(rebuild(graph, spec), [f"{n_layers} IFNeuron layers: v_init = {v_init} * threshold, "
                                             f"reset by {'subtraction' if reset == 'subtract' else 'zero'}"])
