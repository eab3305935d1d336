"""Constant folding with NumPy: ops whose inputs are all constants.

Exporters compute reshape targets, pads and resize sizes with small subgraphs
(``Constant``, ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``, ...). A node
whose inputs are all known constants is evaluated here with NumPy (never
onnxruntime) and its outputs become constants. ``Shape`` of a run-time tensor
is a constant too: every dimension is static except the batch axis, which
folds as 1 (handlers treat a shape's first entry as the batch axis).

``FOLDERS[op_type](attrs, *inputs) -> list of arrays``; absent optional inputs
are ``None``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import helper, numpy_helper

FOLDERS: dict[str, Callable] = {}


def folder(*op_types: str):
    def deco(fn):
        for t in op_types:
            FOLDERS[t] = fn
        return fn
    return deco


def _ints(a) -> list[int]:
    return [int(v) for v in np.asarray(a).ravel()]


@folder("Constant")
def _constant(at):
    if "value" in at:
        return [numpy_helper.to_array(at["value"])]
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in at:
            return [np.asarray(at[key], dtype=dtype)]
    raise ValueError(f"Constant with unsupported attribute {sorted(at)}")


@folder("Identity", "Dropout")
def _identity(at, x, *rest):
    return [x]


@folder("Cast")
def _cast(at, x):
    return [x.astype(helper.tensor_dtype_to_np_dtype(at["to"]))]


@folder("Gather")
def _gather(at, x, i):
    return [np.take(x, i.astype(np.int64), axis=at.get("axis", 0))]


@folder("Unsqueeze")
def _unsqueeze(at, x, axes=None):
    axes = _ints(axes) if axes is not None else list(at["axes"])
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


@folder("Squeeze")
def _squeeze(at, x, axes=None):
    axes = _ints(axes) if axes is not None else at.get("axes")
    return [np.squeeze(x, axis=None if axes is None else tuple(axes))]


@folder("Concat")
def _concat(at, *xs):
    return [np.concatenate(xs, axis=at["axis"])]


@folder("Slice")
def _slice(at, x, starts=None, ends=None, axes=None, steps=None):
    starts = _ints(starts) if starts is not None else list(at["starts"])
    ends = _ints(ends) if ends is not None else list(at["ends"])
    axes = _ints(axes) if axes is not None else list(at.get("axes", range(len(starts))))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[a] = slice(s, None if (st < 0 and e < -x.shape[a]) else e, st)
    return [x[tuple(sl)]]


@folder("Reshape")
def _reshape(at, x, shape):
    shape = _ints(shape)
    if not at.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


@folder("Transpose")
def _transpose(at, x):
    return [np.transpose(x, at.get("perm"))]


@folder("Flatten")
def _flatten(at, x):
    axis = at.get("axis", 1) % max(x.ndim, 1)
    return [x.reshape(int(np.prod(x.shape[:axis])), -1)]


@folder("ConstantOfShape")
def _constant_of_shape(at, shape):
    value = numpy_helper.to_array(at["value"]) if "value" in at else np.zeros(1, np.float32)
    return [np.full(_ints(shape), value.ravel()[0], dtype=value.dtype)]


@folder("Range")
def _range(at, start, limit, delta):
    return [np.arange(start, limit, delta, dtype=start.dtype)]


@folder("Expand")
def _expand(at, x, shape):
    return [x * np.ones(_ints(shape), dtype=x.dtype)]


@folder("Where")
def _where(at, c, x, y):
    return [np.where(c, x, y)]


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)
    return (a / b).astype(np.result_type(a, b))


_ARITH = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _div, "Pow": np.power,
          "Max": np.maximum, "Min": np.minimum, "Mod": np.mod}
_LOGIC = {"Equal": np.equal, "Less": np.less, "Greater": np.greater, "And": np.logical_and,
          "Or": np.logical_or}
_UNARY = {"Neg": np.negative, "Sqrt": np.sqrt, "Reciprocal": np.reciprocal, "Floor": np.floor,
          "Ceil": np.ceil, "Not": np.logical_not, "Abs": np.abs, "Relu": lambda x: np.maximum(x, 0)}


def _arith(f):
    return lambda at, a, b: [np.asarray(f(a, b)).astype(np.result_type(a, b))]


def _logic(f):
    return lambda at, a, b: [np.asarray(f(a, b))]


def _unary(f):
    return lambda at, x: [np.asarray(f(x))]


def _reduce(f):
    def reduce(at, x, axes=None):
        axes = _ints(axes) if axes is not None else at.get("axes")
        keep = bool(at.get("keepdims", 1))
        return [np.asarray(f(x, axis=None if axes is None else tuple(axes), keepdims=keep))]
    return reduce


FOLDERS.update({op: _arith(f) for op, f in _ARITH.items()})
FOLDERS.update({op: _logic(f) for op, f in _LOGIC.items()})
FOLDERS.update({op: _unary(f) for op, f in _UNARY.items()})
FOLDERS.update({"ReduceProd": _reduce(np.prod), "ReduceSum": _reduce(np.sum), "ReduceMean": _reduce(np.mean),
                "ReduceMax": _reduce(np.max), "ReduceMin": _reduce(np.min)})
