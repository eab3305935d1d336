"""Replace every ReLU / Clip(0, a) by an IFNeuron layer (thresholds to be calibrated).

The neuron keeps the activation's name (calibration statistics and the
compile report are keyed by it) and gets one threshold per channel of a
feature map or per feature of a vector. Before calibration the threshold
holds the activation's cap: +inf for ReLU (so the neuron evaluates as ReLU in
the clip-ANN executor) and ``a`` for Clip(0, a); ``v_init`` is 0 until the
``init_membrane`` pass. Raises :class:`CalibrationError` when the graph has no
activation at all: there would be nothing to convert.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import CalibrationError
from snnc.compiler.ir import Clip, Graph, IFNeuron, ReLU
from snnc.compiler.passes.base import PassResult, rebuild, spec_of


def insert_neurons(graph: Graph, reset: str = "subtract") -> PassResult:
    spec, changes = [], []
    for name, op, ins in spec_of(graph):
        if isinstance(op, (ReLU, Clip)):
            c = graph.node(name).shape[0]
            cap = np.inf if isinstance(op, ReLU) else op.hi
            op = IFNeuron(threshold=np.full(c, cap, np.float32), v_init=np.zeros(c, np.float32), reset=reset)
            changes.append(f"{name!r} -> IFNeuron with {c} channel thresholds")
        spec.append((name, op, ins))
    if not changes:
        raise CalibrationError("the graph has no ReLU (or ReLU6 / Clip(0, a)) activation, so there is no "
                               "neuron layer to convert; snnc converts ReLU networks")
    return PassResult(rebuild(graph, spec), changes)
