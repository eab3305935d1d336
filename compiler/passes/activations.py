"""Check and normalise activations: ReLU, ReLU6 and Clip(0, a) convert; nothing else does.

An IF neuron with threshold theta computes (as a rate) clip(z, 0, theta)
(algorithms.md section 1), so the convertible activations are exactly

    ReLU(z)       = clip(z, 0, inf)   -> neuron, theta calibrated
    Clip(z, 0, a) (ReLU6: a = 6)      -> neuron, theta = min(theta_cal, a)

Choice for Clip(0, a): the neuron's threshold is the calibrated threshold
*capped at a*. The neuron saturates at its threshold, so when the calibration
would pick theta > a the cap reproduces the ANN's clip exactly, and when it
picks theta < a the clip at a is never reached by the clip-ANN anyway.
``Clip(0, inf)`` is rewritten to ``ReLU``. Any other clip (negative lower
bound such as hardtanh, lo > 0, hi <= 0) has no IF equivalent and raises
:class:`UnsupportedModelError` naming every such node.
"""
from __future__ import annotations

import math

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import Clip, Graph, ReLU
from snnc.compiler.passes.base import PassResult, rebuild, spec_of


def convertible_clip(op: Clip) -> bool:
    return op.lo == 0.0 and op.hi > 0.0


def check_activations(graph: Graph) -> PassResult:
    bad = [n for n in graph.of_type(Clip) if not convertible_clip(n.op)]
    if bad:
        listed = "; ".join(f"{n.name!r} Clip(lo={n.op.lo}, hi={n.op.hi})" for n in bad)
        raise UnsupportedModelError(
            f"activation(s) that cannot become integrate-and-fire neurons: {listed}. "
            f"Only ReLU, ReLU6 and Clip(0, a) convert; retrain with ReLU")
    spec, changes = [], []
    for name, op, ins in spec_of(graph):
        if isinstance(op, Clip) and math.isinf(op.hi):
            op = ReLU()
            changes.append(f"Clip {name!r} with bounds (0, inf) is a ReLU")
        elif isinstance(op, Clip):
            changes.append(f"Clip {name!r} (0, {op.hi:g}): neuron threshold will be capped at {op.hi:g}")
        spec.append((name, op, ins))
    return PassResult(rebuild(graph, spec) if changes else graph, changes)
