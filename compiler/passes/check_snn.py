"""Final check: the spiking graph holds only ops every backend understands.

Allowed: the ops whose class has the ``spiking`` trait (``SNN_OPS``: Input, Conv2d,
Linear, AvgPool2d, GlobalAvgPool2d, Flatten, Reshape, ChannelAffine, ChannelPermute,
ChannelSlice, Add, Concat, Pad, Resize, MaxPool2d with a spiking mode, and IFNeuron /
SigmaDeltaNeuron with threshold 1). Anything else left over (a ReLU
that was not converted, a BatchNorm, ...) is a compiler bug or an op this
converter does not handle, reported with the node's name.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import UnsupportedModelError
from snnc.compiler.ir import Graph, IFNeuron
from snnc.compiler.ir.ops import OP_TYPES
from snnc.compiler.passes.base import PassResult

SNN_OPS = frozenset(name for name, cls in OP_TYPES.items() if cls.spiking)

def check_snn(graph: Graph) -> PassResult:
    bad = [f"{n.name!r} ({n.type})" for n in graph.nodes if not n.op.spiking]
    if bad:
        raise UnsupportedModelError(f"ops with no spiking equivalent remain after conversion: {', '.join(bad)}")
    for n in graph.of_type(IFNeuron):
        if not np.all(n.op.threshold == 1.0):
            raise UnsupportedModelError(f"IFNeuron {n.name!r} was not folded to unit thresholds")
    counts = {}
    for n in graph.nodes:
        counts[n.type] = counts.get(n.type, 0) + 1
    return PassResult(graph, ["spiking graph: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))])
