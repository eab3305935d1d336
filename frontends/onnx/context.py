"""Conversion state: what every ONNX tensor is while handlers run.

An ONNX tensor (batch axis first) is bound to one of three kinds of value:

* a constant ``np.ndarray`` (initializers and folded constant subgraphs);
* an IR node name (``str``): the tensor is that node's output, whose per-sample
  shape is the ONNX shape without the batch axis;
* a :class:`View`: a per-sample reshape/transpose of an IR node's output that is
  not an IR node yet. ``idx`` holds, for every element of the viewed tensor,
  its flat index in the source node's per-sample data. A view becomes IR nodes
  only when a handler reads it (:meth:`Context.ir`): nothing when it is the
  source itself, ``Flatten``/``Reshape`` when ``idx`` is in order, and a
  ``ChannelPermute`` (+ reshape) when it moves whole channels (channel shuffle).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np
import onnx

from snnc.compiler.errors import GraphError, UnsupportedModelError
from snnc.compiler.ir import ChannelPermute, Flatten, Input, Op, Reshape


@dataclass(frozen=True, eq=False)
class View:
    """Per-sample tensor ``src_data.ravel()[idx]`` of shape ``idx.shape``."""

    src: str
    idx: np.ndarray


Value = Union[np.ndarray, str, View]


def sanitize(name: str) -> str:
    """An IR-friendly node name: letters, digits, '_', '.', '-'; never empty."""
    s = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip("_")
    return s or "node"


@dataclass
class Context:
    """Bindings of ONNX tensors, emitted IR triples, their shapes and notes."""

    uses: Counter = field(default_factory=Counter)
    graph_outputs: tuple = ()
    opset: int = 13
    values: dict = field(default_factory=dict)
    spec: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    tensor_map: dict = field(default_factory=dict)

    # -- reading ------------------------------------------------------------
    def const(self, t: str) -> Optional[np.ndarray]:
        """The constant bound to ``t`` (None when ``t`` is empty or not constant)."""
        v = self.values.get(t) if t else None
        return v if isinstance(v, np.ndarray) else None

    def need_const(self, node: onnx.NodeProto, t: str, what: str) -> np.ndarray:
        v = self.const(t)
        if v is None:
            raise UnsupportedModelError(f"node {node.name or node.output[0]!r} ({node.op_type}): {what} "
                                        f"({t!r}) must be a constant (initializer); it is computed at run time")
        return v

    def onnx_shape(self, t: str) -> tuple:
        """ONNX shape of ``t`` with the batch axis as 1."""
        v = self.values[t]
        if isinstance(v, np.ndarray):
            return v.shape
        if isinstance(v, View):
            return (1,) + v.idx.shape
        return (1,) + self.shapes[v]

    def view(self, t: str) -> View:
        v = self.values[t]
        if isinstance(v, View):
            return v
        shape = self.shapes[v]
        return View(v, np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape))

    def ir(self, node: onnx.NodeProto, t: str) -> str:
        """The IR node holding tensor ``t``, creating reshape/permute nodes for a view."""
        v = self.values.get(t)
        if isinstance(v, str):
            return v
        if isinstance(v, View):
            name = self._materialise(node, t, v)
            self.bind(t, name)
            return name
        what = "a constant" if isinstance(v, np.ndarray) else "undefined"
        raise UnsupportedModelError(f"node {node.name or node.output[0]!r} ({node.op_type}) reads {t!r}, which "
                                    f"is {what}; snnc needs it to depend on the model input")

    # -- writing ------------------------------------------------------------
    def bind(self, t: str, value: Value, record: bool = True) -> None:
        """Bind ONNX tensor ``t``; ``record`` maps it to its IR node in ``tensor_map`` (same values)."""
        if isinstance(value, np.ndarray) and value.dtype == np.float64:
            value = value.astype(np.float32)
        self.values[t] = value
        if isinstance(value, str) and record:
            self.tensor_map[t] = value

    def add_input(self, t: str, shape: tuple) -> str:
        """An IR ``Input`` node for graph input ``t`` with per-sample ``shape``."""
        name = self._unique(sanitize(t))
        self.spec.append((name, Input(tuple(shape)), ()))
        self.shapes[name] = tuple(shape)
        self.bind(t, name)
        return name

    def emit(self, node: onnx.NodeProto, op: Op, inputs: Sequence[str], out: Optional[str] = None,
             suffix: str = "") -> str:
        """Append IR node ``op(*inputs)`` named after ONNX tensor ``out``; return its (unique) name."""
        name = self._unique(sanitize((out if out is not None else node.output[0]) or node.op_type) + suffix)
        try:
            shape = tuple(int(d) for d in op.infer([self.shapes[i] for i in inputs]))
        except GraphError as e:
            raise GraphError(f"node {node.name or node.output[0]!r} ({node.op_type}): {e}") from None
        self.spec.append((name, op, tuple(inputs)))
        self.shapes[name] = shape
        return name

    def _unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.shapes:
            name, k = f"{base}_{k}", k + 1
        return name

    def _materialise(self, node, t: str, v: View) -> str:
        src_shape = self.shapes[v.src]
        idx, cur = v.idx, v.src
        if idx.size != int(np.prod(src_shape)):
            raise self._bad_view(node, t)
        flat = idx.reshape(src_shape)
        c = src_shape[0]
        rows = flat.reshape(c, -1)
        rest = rows.shape[1]
        perm = rows[:, 0] // max(rest, 1)
        in_order = np.arange(c)
        if not np.array_equal(perm, in_order):
            if not np.array_equal(rows, perm[:, None] * rest + np.arange(rest)[None, :]):
                raise self._bad_view(node, t)
            cur = self.emit(node, ChannelPermute(perm.astype(np.int64)), [cur], out=t,
                            suffix="_permute" if idx.shape != src_shape else "")
        elif not np.array_equal(flat.ravel(), np.arange(flat.size)):
            raise self._bad_view(node, t)
        if idx.shape != tuple(src_shape):
            op = Flatten() if idx.ndim == 1 else Reshape(tuple(int(d) for d in idx.shape))
            cur = self.emit(node, op, [cur], out=t)
        return cur

    @staticmethod
    def _bad_view(node, t):
        return UnsupportedModelError(
            f"tensor {t!r} (read by node {node.name or node.output[0]!r}) is a Reshape/Transpose that moves "
            f"values across positions; snnc supports only reshapes, flattening and channel permutations")
