"""The ONNX op-handler registry and the facts the scan needs.

A handler maps one ONNX node to IR nodes through a conversion context
(:mod:`snnc.frontends.onnx.context`); it is registered for one or more ONNX
op types with the IR ops it produces and a note for the README table::

    @handler("Relu", ir="ReLU")
    def relu(ctx, node): ...

``UNREPRESENTABLE`` lists activations an integrate-and-fire neuron cannot
represent: its rate is a clipped *linear* function of its input current, so
only ReLU-like activations (ReLU, ReLU6, Clip(0, a)) convert.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import onnx
from onnx import helper


@dataclass(frozen=True)
class Handler:
    """Converts one ONNX op type: ``fn(ctx, node)``; ``ir`` and ``notes`` document it."""

    fn: Callable
    ir: str
    notes: str = ""


HANDLERS: dict[str, Handler] = {}

UNREPRESENTABLE = frozenset({
    "Sigmoid", "HardSigmoid", "HardSwish", "Swish", "Gelu", "Tanh", "Elu", "Selu", "Celu",
    "LeakyRelu", "PRelu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Softmax",
    "LogSoftmax", "Hardmax", "Erf", "Exp", "Log", "Sin", "Cos", "Abs", "Sign", "Shrink",
})


def handler(*op_types: str, ir: str, notes: str = ""):
    """Register ``fn`` as the converter of every ONNX op type in ``op_types``."""
    def deco(fn):
        for t in op_types:
            HANDLERS[t] = Handler(fn, ir, notes)
        return fn
    return deco


def attrs(node: onnx.NodeProto) -> dict:
    """The node's attributes as plain Python values (bytes decoded to str)."""
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def activation_message(op_type: str, name: str) -> str:
    return (f"activation {op_type} in node {name!r} cannot be represented by an integrate-and-fire "
            f"neuron; retrain with ReLU")


def supported_ops_markdown() -> str:
    """The README's supported-op table, generated from the registry.

    Regenerate with ``python -c "import snnc.frontends.onnx as o; print(o.supported_ops_markdown())"``.
    """
    _load_handlers()
    lines = ["| ONNX op | snnc IR | notes |", "| --- | --- | --- |"]
    for op_type in sorted(HANDLERS):
        h = HANDLERS[op_type]
        lines.append(f"| {op_type} | {h.ir} | {h.notes} |")
    return "\n".join(lines)


def _load_handlers() -> None:
    """Import every handler module (each registers its ops on import)."""
    from snnc.frontends.onnx import activation, arith, conv, pooling, resize, shape, slice  # noqa: F401
