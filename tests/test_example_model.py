"""The committed example model reproduces its recorded MNIST test accuracy in onnxruntime."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from snnc.compiler.data import batches, example_model_path, load_data
from snnc.compiler.errors import ModelLoadError

from .oracles import assert_network_close

REPO_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def record():
    return json.loads((REPO_EXAMPLES / "mnist_cnn.json").read_text())


def test_example_model_path_finds_the_committed_file():
    path = example_model_path()
    assert path.is_file() and path.name == "mnist_cnn.onnx"
    assert path.read_bytes() == (REPO_EXAMPLES / "mnist_cnn.onnx").read_bytes()
    with pytest.raises(ModelLoadError, match="no_such.onnx not found"):
        example_model_path("no_such.onnx")


def test_example_model_structure(record):
    model = onnx.load(str(example_model_path()))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17 == record["opset"]
    ops = [n.op_type for n in model.graph.node]
    for op in ("Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "Gemm"):
        assert op in ops, f"the example model should contain {op} (ops: {ops})"
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert Path(example_model_path()).stat().st_size < 1_000_000


def test_onnxruntime_reproduces_recorded_accuracy(ort, record):
    sess = ort.InferenceSession(str(example_model_path()), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    data = load_data("mnist:test", input_shape=(1, 28, 28), num_classes=10)
    assert len(data) == record["test_images"] == 10000
    correct = sum(int((sess.run(None, {name: xb})[0].argmax(1) == yb).sum()) for xb, yb in batches(data, 1000))
    assert correct == record["test_correct_onnxruntime"]
    assert correct / len(data) == record["test_accuracy_onnxruntime"] >= 0.985
    assert abs(record["test_accuracy_torch"] - correct / len(data)) <= 0.001
    single = sess.run(None, {name: data.x[:1]})[0]  # dynamic batch axis: batch of one works too
    full = sess.run(None, {name: data.x[:3]})[0]
    from snnc.frontends.onnx import load_onnx   # the same network's float32 terms bound the two batchings
    assert_network_close(load_onnx(example_model_path()), data.x[:1], single[:1], full[:1])
