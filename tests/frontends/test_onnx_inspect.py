"""`snnc inspect`: table, totals, --json, unsupported ops (exit 4), bad files (exit 3), no tracebacks."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snnc.cli import main


def save(tmp_path, nodes, inits=None, shape=("N", 3, 8, 8), name="m.onnx"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    m = helper.make_model(helper.make_graph(nodes, "t", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    p = tmp_path / name
    onnx.save(onnx.shape_inference.infer_shapes(m), p)
    return str(p)


def net(tmp_path, act="Relu"):
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node(act, ["c1"], ["a1"], name="act1"),
             helper.make_node("MaxPool", ["a1"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], name="fc", transB=1)]
    inits = {"W": np.ones((4, 3, 3, 3), np.float32), "B": np.zeros(4, np.float32),
             "FW": np.ones((10, 64), np.float32), "FB": np.zeros(10, np.float32)}
    return save(tmp_path, nodes, inits)


def test_table_and_totals(tmp_path, capsys):
    assert main(["inspect", net(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "c1 " in out and "Conv2d" in out and "4x8x8" in out and "MaxPool2d" in out
    conv_macs = 4 * 8 * 8 * 3 * 9
    assert f"{conv_macs:,}" in out
    assert f"totals: 6 nodes, {4 * 27 + 4 + 640 + 10:,} parameters, {conv_macs + 640:,} MACs" in out


def test_json(tmp_path, capsys):
    assert main(["inspect", net(tmp_path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [n["op"] for n in rep["nodes"]] == ["Input", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert rep["totals"]["macs"] == 4 * 64 * 27 + 640 and rep["unsupported"] == []
    assert rep["nodes"][1] == {"name": "c1", "op": "Conv2d", "shape": [4, 8, 8], "params": 112, "macs": 6912}


def test_unsupported_listed_with_partial_table(tmp_path, capsys):
    assert main(["inspect", net(tmp_path, act="Sigmoid")]) == 4
    cap = capsys.readouterr()
    assert "Conv2d" in cap.out and "Linear" in cap.out  # nodes after the Sigmoid still convert
    assert "activation Sigmoid in node 'act1' cannot be represented" in cap.out
    assert cap.err.startswith("error: 1 unsupported node(s)") and "Traceback" not in cap.err


def test_unsupported_json(tmp_path, capsys):
    assert main(["inspect", net(tmp_path, act="HardSwish"), "--json"]) == 4
    rep = json.loads(capsys.readouterr().out)
    assert [(p["node"], p["op"], p["kind"]) for p in rep["unsupported"]] == [("act1", "HardSwish", "activation")]


def _truncated(tmp_path):
    p = tmp_path / "cut.onnx"
    data = open(net(tmp_path), "rb").read()
    p.write_bytes(data[: len(data) // 2])
    return str(p)


def _not_onnx(tmp_path):
    p = tmp_path / "x.onnx"
    p.write_text("hello, this is text\n" * 10)
    return str(p)


def _empty(tmp_path):
    p = tmp_path / "empty.onnx"
    g = helper.make_graph([], "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])], [])
    onnx.save(helper.make_model(g), p)
    return str(p)


def _dynamic(tmp_path):
    return save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")], shape=("N", 3, "H", "W"))


@pytest.mark.parametrize("make,code,words", [
    (lambda t: str(t / "missing.onnx"), 3, "no such file"),
    (lambda t: str(t), 3, "is a directory, not an ONNX file"),
    (_not_onnx, 3, "not an ONNX model"),
    (_truncated, 3, "truncated"),
    (_empty, 3, "empty graph"),
    (_dynamic, 4, "--input-shape"),
])
def test_bad_files_one_line_error(tmp_path, capsys, make, code, words):
    assert main(["inspect", make(tmp_path)]) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_input_shape_fixes_dynamic_dims(tmp_path, capsys):
    assert main(["inspect", _dynamic(tmp_path), "--input-shape", "1,3,16,20"]) == 0
    assert "3x16x20" in capsys.readouterr().out


def test_bad_input_shape_is_usage_error(tmp_path, capsys):
    assert main(["inspect", _dynamic(tmp_path), "--input-shape", "a,b"]) == 2
    assert capsys.readouterr().err.startswith("error: --input-shape")


def test_debug_shows_traceback(tmp_path):
    from snnc.compiler.errors import ModelLoadError
    with pytest.raises(ModelLoadError):
        main(["inspect", str(tmp_path / "missing.onnx"), "--debug"])


def test_shape_changing_unsupported_op_stops_its_branch(tmp_path, capsys):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"),
             helper.make_node("SpaceToDepth", ["r"], ["s"], name="s2d", blocksize=2),
             helper.make_node("Relu", ["s"], ["y"], name="after")]
    assert main(["inspect", save(tmp_path, nodes), "--json"]) == 4
    rep = json.loads(capsys.readouterr().out)
    assert [n["op"] for n in rep["nodes"]] == ["Input", "ReLU"]
    assert [p["node"] for p in rep["unsupported"]] == ["s2d"]
    assert any("1 node(s)" in n for n in rep["notes"])


def test_notes_listed_including_the_sources(tmp_path, capsys):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"), helper.make_node("Softmax", ["r"], ["y"], name="sm")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])
    m = helper.make_model(helper.make_graph(nodes, "t", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]),
                          opset_imports=[helper.make_opsetid("", 10)])
    m.ir_version = 8
    onnx.save(onnx.shape_inference.infer_shapes(m), tmp_path / "old.onnx")
    assert main(["inspect", str(tmp_path / "old.onnx")]) == 0
    out = capsys.readouterr().out
    assert "note: opset 10 is outside the tested range 11-21" in out and "note: Softmax node 'sm'" in out
    assert main(["inspect", str(tmp_path / "old.onnx"), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert notes[0] == "opset 10 is outside the tested range 11-21" and "Softmax node 'sm'" in notes[1]


def test_inspect_lists_what_compile_reports(tmp_path, capsys):
    """Scan problems and conversion-time ones (Pad mode reflect): inspect's list = compile's one error."""
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad", mode="reflect"),
             helper.make_node("Sigmoid", ["p"], ["s"], name="sig"),
             helper.make_node("Relu", ["s"], ["y"], name="r")]
    path = save(tmp_path, nodes, {"pads": np.zeros(8, np.int64)})
    assert main(["inspect", path, "--json"]) == 4
    listed = [p["node"] for p in json.loads(capsys.readouterr().out)["unsupported"]]
    assert listed == ["sig", "pad"]
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8), np.float32))
    assert main(["compile", path, "--calib", str(tmp_path / "x.npy"), "-o", str(tmp_path / "m.snnc")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "2 unsupported node(s)" in err
    assert "'sig'" in err and "'pad' (Pad)" in err
