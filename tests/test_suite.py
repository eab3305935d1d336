"""The committed suite of trained networks (examples/suite, benchmarks/suite): files, records, oracles, recipe."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EPS32 = float(np.finfo(np.float32).eps)
#: ONNX ops each network must contain (what it is in the suite for)
OPS = {"vgg": {"MaxPool", "Gemm"}, "resnet": {"Add", "GlobalAveragePool"},
       "mobilenet": {"Clip", "Add", "GlobalAveragePool"}, "densenet": {"Concat", "AveragePool", "GlobalAveragePool"}}


def suite():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.suite")


def summed_fan_in(model: onnx.ModelProto) -> int:
    """Sum over Conv / Gemm nodes of the terms each output sums (weight size / output channels)."""
    inits = {t.name: t.dims for t in model.graph.initializer}
    total = 0
    for n in model.graph.node:
        if n.op_type in ("Conv", "Gemm") and n.input[1] in inits:
            dims = inits[n.input[1]]
            total += int(np.prod(dims)) // int(dims[0])
    return total


@pytest.mark.parametrize("name", ["vgg", "resnet", "mobilenet", "densenet"])
def test_committed_network_and_record(name):
    s = suite()
    path = s.onnx_path(name)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    assert OPS[name] <= ops, f"{name} lacks {OPS[name] - ops}"
    if name == "mobilenet":
        dw = [n for n in model.graph.node if n.op_type == "Conv"
              and any(a.name == "group" and a.i > 1 for a in n.attribute)]
        assert dw, "mobilenet has no depthwise (grouped) convolution"
    rec = s.record(name)
    assert rec["model"] == path.name and rec["seed"] == 0 and rec["onnx_bytes"] == path.stat().st_size
    assert rec["train_split"] == "mnist:train (50000)"
    assert rec["test_accuracy_onnxruntime"] >= 0.985 and rec["valid_accuracy_onnxruntime"] >= 0.985
    assert path.stat().st_size < 4_000_000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg", "resnet", "mobilenet", "densenet"])
def test_onnxruntime_reproduces_the_record_and_snnc_matches_it(name, ort):
    """All 10,000 test images in onnxruntime: the recorded accuracy (argmax can flip only on near-ties,
    which differ by CPU kernel: 5 images of slack); snnc's executor on 200 of them equals onnxruntime
    within the float32 bound eps32 * (summed fan-in along the network) * max|logit|."""
    from snnc.compiler.execute import predict
    from snnc.frontends.onnx import load_onnx
    s = suite()
    path = s.onnx_path(name)
    x, y = s.data("test")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = np.concatenate([sess.run(None, {"image": x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
    assert abs(float(np.mean(ref.argmax(1) == y)) - s.record(name)["test_accuracy_onnxruntime"]) <= 5e-4
    got = predict(load_onnx(str(path)), x[:200])
    bound = EPS32 * summed_fan_in(onnx.load(str(path))) * float(np.abs(ref[:200]).max())
    np.testing.assert_allclose(got, ref[:200], rtol=0, atol=bound)


def test_sj_side_rebuilds_the_torch_module_from_the_onnx_file(torch, ort):
    """benchmarks/sj_side.load_torch (SpikingJelly's input): builder + ONNX initializers == the ONNX network."""
    suite()
    from benchmarks.sj_side import load_torch
    s = suite()
    x, _ = s.data("test", 100)
    for name in s.NAMES:
        path = s.onnx_path(name)
        model = load_torch(name, str(path))
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
        bound = EPS32 * summed_fan_in(onnx.load(str(path))) * float(np.abs(ref).max())
        np.testing.assert_allclose(got, ref, rtol=0, atol=bound)


def test_unknown_network_is_named():
    with pytest.raises(KeyError, match="unknown suite network 'alexnet'"):
        suite().onnx_path("alexnet")


@pytest.mark.slow
def test_recipe_trains_exports_and_records(tmp_path, torch, ort):
    """The training command end to end on 256 images, one epoch: files written, ONNX == torch on the test set."""
    suite()
    from benchmarks.suite import train
    assert train.main(["--model", "densenet", "--epochs", "1", "--train-n", "256", "--threads", "1",
                       "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "densenet.json").read_text())
    assert rec["train_split"] == "mnist:train (256)" and rec["epochs"] == 1 and len(rec["epoch_losses"]) == 1
    assert rec["onnx_bytes"] == (tmp_path / "densenet.onnx").stat().st_size
    assert rec["test_accuracy_onnxruntime"] == rec["test_accuracy_torch"]  # the script checks every prediction
