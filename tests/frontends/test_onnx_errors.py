"""Bad and unsupported ONNX models: one clear error naming the file/node and what to do."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snnc.compiler.errors import ModelLoadError, UnsupportedModelError
from snnc.frontends.onnx import load_onnx, scan_onnx, supported_ops_markdown
from snnc.frontends.onnx.registry import HANDLERS

README = Path(__file__).resolve().parents[2] / "README.md"


def model(nodes, inits=None, shape=("N", 3, 8, 8), opset=17):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    m = helper.make_model(helper.make_graph(nodes, "t", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return onnx.shape_inference.infer_shapes(m)


def relu_model(**kw):
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")], **kw)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="no such file"):
        load_onnx(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_text("these are not the weights you are looking for\n" * 20)
    with pytest.raises(ModelLoadError, match="not an ONNX model"):
        load_onnx(p)


def test_truncated(tmp_path):
    w = np.ones((64, 3, 3, 3), np.float32)
    m = model([helper.make_node("Conv", ["x", "W"], ["y"], name="c")], {"W": w})
    data = m.SerializeToString()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="truncated"):
        load_onnx(p)


def test_empty_graph():
    g = helper.make_graph([], "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])], [])
    with pytest.raises(ModelLoadError, match="empty graph"):
        load_onnx(helper.make_model(g))


def test_checker_failure():
    m = relu_model()
    m.graph.node[0].input[0] = "undefined_tensor"
    with pytest.raises(ModelLoadError, match="not a valid ONNX model"):
        load_onnx(m)


def test_dynamic_spatial_dims_say_what_to_do():
    m = relu_model(shape=("N", 3, "H", "W"))
    with pytest.raises(ModelLoadError, match="input_shape") as e:
        load_onnx(m)
    assert isinstance(e.value, UnsupportedModelError) and e.value.exit_code == 4
    assert load_onnx(m, input_shape=(1, 3, 16, 16)).node("x").shape == (3, 16, 16)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_name_the_initializer(bad):
    w = np.ones((4, 3, 1, 1), np.float32)
    w[1, 2] = bad
    m = model([helper.make_node("Conv", ["x", "conv1.weight"], ["y"], name="c")], {"conv1.weight": w})
    with pytest.raises(ModelLoadError, match="'conv1.weight'.*NaN/inf"):
        load_onnx(m)


def test_one_error_lists_every_unsupported_node():
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="sig1"),
             helper.make_node("LeakyRelu", ["s"], ["l"], name="leaky"),
             helper.make_node("Softmax", ["l"], ["sm"], name="inner_softmax", axis=1),
             helper.make_node("Relu", ["sm"], ["r"], name="ok"),
             helper.make_node("Einsum", ["r", "r"], ["e"], name="weird", equation="nchw,nchw->nchw"),
             helper.make_node("Relu", ["e"], ["y"], name="last")]
    m = model(nodes, opset=17)
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(m)
    msg = str(e.value)
    assert "4 unsupported" in msg
    for name, op in [("sig1", "Sigmoid"), ("leaky", "LeakyRelu"), ("inner_softmax", "Softmax")]:
        assert f"activation {op} in node '{name}' cannot be represented by an integrate-and-fire neuron; " \
               f"retrain with ReLU" in msg
    assert "op Einsum in node 'weird' is not supported" in msg
    problems = scan_onnx(m)
    assert [(p["node"], p["kind"]) for p in problems] == [
        ("sig1", "activation"), ("leaky", "activation"), ("inner_softmax", "activation"), ("weird", "op")]


@pytest.mark.parametrize("nodes,inits,match", [
    ([helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="c")], {"lo": np.float32(-1), "hi": np.float32(1)},
     "Clip.*cannot be represented"),
    ([helper.make_node("Mul", ["x", "x"], ["y"], name="sq")], {}, "multiplicatively"),
    ([helper.make_node("Add", ["x", "c"], ["y"], name="a")], {"c": np.ones((1, 3, 8, 8), np.float32)},
     "varies beyond the channel axis"),
    ([helper.make_node("Concat", ["x", "x"], ["y"], name="cat", axis=2)], {}, "channel axis"),
    ([helper.make_node("Transpose", ["x"], ["t"], name="tr", perm=[0, 2, 3, 1]),
      helper.make_node("Relu", ["t"], ["y"], name="r")], {}, "moves values across positions"),
])
def test_unrepresentable_patterns(nodes, inits, match):
    with pytest.raises(UnsupportedModelError, match=match):
        load_onnx(model(nodes, inits))


def test_supported_ops_table_covers_registry():
    md = supported_ops_markdown()
    for op in HANDLERS:
        assert f"| {op} |" in md


def test_readme_supported_op_table_is_current():
    """README.md between <!-- ops:begin --> and <!-- ops:end --> must equal supported_ops_markdown().

    Regenerate: python -c "import snnc.frontends.onnx as o; print(o.supported_ops_markdown())"
    """
    text = README.read_text() if README.exists() else ""
    assert "<!-- ops:begin -->" in text and "<!-- ops:end -->" in text, \
        "README.md lacks the <!-- ops:begin --> / <!-- ops:end --> markers around the supported-op table"
    section = text.split("<!-- ops:begin -->", 1)[1].split("<!-- ops:end -->", 1)[0].strip()
    assert section == supported_ops_markdown(), \
        "README's supported-op table is stale; regenerate it with: python -c \"import snnc.frontends.onnx " \
        "as o; print(o.supported_ops_markdown())\""


def _pad(name, src, out, mode="reflect"):
    """A Pad of zero width: shape-preserving, so later nodes still convert in lenient mode."""
    return helper.make_node("Pad", [src, f"{name}_pads"], [out], name=name, mode=mode)


ZERO_PADS = {"pad_pads": np.zeros(8, np.int64)}


@pytest.mark.parametrize("with_scan_problem", [False, True])
def test_conversion_time_problems_join_the_one_error(with_scan_problem):
    """Attribute variants (Pad mode reflect) and run-time operands (x * x) surface only during conversion;
    strict loading lists them with the scan's problems in one error, the same list inspect shows."""
    nodes = [helper.make_node("Mul", ["x", "x"], ["sq"], name="sq"), _pad("pad", "sq", "p")]
    nodes += [helper.make_node("Sigmoid", ["p"], ["s"], name="sig")] if with_scan_problem else []
    nodes += [helper.make_node("Relu", [nodes[-1].output[0]], ["y"], name="r")]
    m = model(nodes, ZERO_PADS)
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(m)
    msg = str(e.value)
    expected = ["sig", "sq", "pad"] if with_scan_problem else ["sq", "pad"]
    assert f"{len(expected)} unsupported node(s)" in msg
    assert "'sq' (Mul)" in msg and "'pad' (Pad)" in msg and "mode reflect" in msg
    from snnc.frontends.onnx.convert import convert_all
    from snnc.frontends.onnx.loader import input_shapes, read_model
    proto, source = read_model(m)
    _, problems = convert_all(proto, input_shapes(proto), source)
    assert [p["node"] for p in problems] == expected
    assert msg.count("\n  - ") == len(problems)


def test_single_conversion_problem_keeps_its_message():
    with pytest.raises(UnsupportedModelError, match=r"^node 'pad' \(Pad\) pads .* in mode edge"):
        load_onnx(model([_pad("pad", "x", "y", mode="edge")], ZERO_PADS))


def test_source_notes_reach_the_graph():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"), helper.make_node("Softmax", ["r"], ["y"], name="sm")]
    g = load_onnx(model(nodes, opset=10))
    assert "opset 10 is outside the tested range 11-21" in g.meta["notes"]
    assert any("Softmax node 'sm' at the output was dropped" in n for n in g.meta["notes"])


def test_directory_is_named_as_such(tmp_path):
    with pytest.raises(ModelLoadError, match="is a directory, not an ONNX file"):
        load_onnx(tmp_path)
