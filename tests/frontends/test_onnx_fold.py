"""Constant folding (NumPy) against the ONNX reference implementation (onnx.reference)."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from snnc.frontends.onnx.fold import FOLDERS
from snnc.frontends.onnx.registry import attrs

A = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7
I = np.asarray([1, 3, 224, 224], np.int64)

CASES = [
    ("Shape-chain Gather", "Gather", [I, np.asarray(0, np.int64)], {"axis": 0}, 13),
    ("Gather axis 1", "Gather", [A, np.asarray([2, 0], np.int64)], {"axis": 1}, 13),
    ("Unsqueeze attr", "Unsqueeze", [I], {"axes": [0]}, 11),
    ("Unsqueeze input", "Unsqueeze", [A, np.asarray([-1, 0], np.int64)], {}, 13),
    ("Squeeze", "Squeeze", [A[:1], np.asarray([0], np.int64)], {}, 13),
    ("Concat", "Concat", [I, np.asarray([-1], np.int64)], {"axis": 0}, 13),
    ("Slice", "Slice", [I, np.asarray([2]), np.asarray([4]), np.asarray([0])], {}, 13),
    ("Slice negative step", "Slice", [A, np.asarray([-1]), np.asarray([-100]), np.asarray([2]),
                                      np.asarray([-2])], {}, 13),
    ("Slice attrs", "Slice", [A], {"starts": [1], "ends": [3], "axes": [1]}, 9),
    ("Reshape zero", "Reshape", [A, np.asarray([0, -1], np.int64)], {}, 13),
    ("Transpose", "Transpose", [A], {"perm": [2, 0, 1]}, 13),
    ("Flatten", "Flatten", [A], {"axis": 2}, 13),
    ("Cast", "Cast", [A], {"to": TensorProto.INT64}, 13),
    ("Div int truncates", "Div", [np.asarray([7, -7], np.int64), np.asarray([2, 2], np.int64)], {}, 13),
    ("Mul", "Mul", [I, np.asarray(2, np.int64)], {}, 13),
    ("Range", "Range", [np.asarray(1, np.int64), np.asarray(10, np.int64), np.asarray(3, np.int64)], {}, 13),
    ("Expand", "Expand", [np.asarray([[1.0], [2.0]], np.float32), np.asarray([2, 3], np.int64)], {}, 13),
    ("Where", "Where", [A > 0, A, -A], {}, 13),
    ("ReduceProd", "ReduceProd", [I[1:]], {"keepdims": 0}, 13),
    ("ReduceMean", "ReduceMean", [A], {"axes": [1], "keepdims": 1}, 13),
    ("Sqrt", "Sqrt", [np.abs(A)], {}, 13),
    ("Equal", "Equal", [I, np.asarray(224, np.int64)], {}, 13),
]


@pytest.mark.parametrize("label,op,inputs,kw,opset", CASES, ids=[c[0] for c in CASES])
def test_fold_matches_onnx_reference(label, op, inputs, kw, opset):
    names = [f"i{k}" for k in range(len(inputs))]
    node = helper.make_node(op, names, ["y"], **kw)
    g = helper.make_graph([node], "t", [], [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)],
                          [numpy_helper.from_array(np.asarray(v), n) for n, v in zip(names, inputs)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    ref = ReferenceEvaluator(m).run(None, {})[0]
    got = FOLDERS[op](attrs(node), *[np.asarray(v) for v in inputs])[0]
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def test_constant_node_variants():
    for key, value, want in [("value_float", 1.5, np.float32(1.5)), ("value_ints", [1, 2], np.asarray([1, 2])),
                             ("value", numpy_helper.from_array(A), A)]:
        node = helper.make_node("Constant", [], ["c"], **{key: value})
        got = FOLDERS["Constant"](attrs(node))[0]
        np.testing.assert_array_equal(got, want)
