"""``snnc compile`` around the conversion: output paths, targets the network does not fit, notes, dead networks."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import snnc
from snnc.compiler.artifact import load
from snnc.cli import main
from snnc.compiler.data import example_model_path
from snnc.compiler.errors import CalibrationError, DataError, HardwareError, OutputError
from snnc.compiler.ir import Conv2d, Flatten, Graph, Input, Linear, ReLU


@pytest.fixture(scope="module")
def mnist_calib(tmp_path_factory):
    path = tmp_path_factory.mktemp("calib") / "x.npy"
    np.save(path, np.random.default_rng(0).random((20, 1, 28, 28)).astype(np.float32))
    return str(path)


@pytest.fixture
def no_calibration(monkeypatch):
    import snnc.compiler.passes.pipeline as pipeline

    def refuse(*a, **k):
        raise AssertionError("calibration ran although the output path is unusable")
    monkeypatch.setattr(pipeline, "calibrate", refuse)


@pytest.mark.parametrize("make,words", [
    (lambda t: ["-o", str(t / "missing" / "x.snnc")], "folder"),
    (lambda t: ["-o", str(t)], "is a directory"),
    (lambda t: ["-o", str(t / "x.snnc"), "--plot", str(t / "missing" / "p.png")], "--plot"),
])
def test_unwritable_outputs_fail_before_any_work(tmp_path, mnist_calib, capsys, no_calibration, make, words):
    args = ["compile", str(example_model_path()), "--calib", mnist_calib] + make(tmp_path)
    assert main(args) == OutputError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err


def tiny_graph(bias=None):
    w = np.abs(np.random.default_rng(0).standard_normal((3, 1, 3, 3))).astype(np.float32)
    return Graph.build([("x", Input(shape=(1, 6, 6)), []), ("c", Conv2d(weight=w, bias=bias), ["x"]),
                        ("r", ReLU(), ["c"]), ("f", Flatten(), ["r"]),
                        ("l", Linear(weight=np.ones((2, 48), np.float32), bias=None), ["f"])], ["l"])


def test_artifact_save_raises_output_error(tmp_path):
    art = snnc.compile(tiny_graph(), np.random.default_rng(0).random((8, 1, 6, 6)).astype(np.float32), iters=1)
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write the artifact"):
        art.save(tmp_path / "file" / "x.snnc")


@pytest.mark.parametrize("low, high", [(-1.0, 0.0), (-0.5, -0.1)])
def test_dead_network_names_its_first_dead_layer(low, high):
    """Positive weights, no bias: non-positive inputs leave every channel of 'r' at threshold 0."""
    x = np.random.default_rng(0).uniform(low, high, (8, 1, 6, 6)).astype(np.float32)
    with pytest.raises(CalibrationError, match=r"neuron layer 'r': all 3 channel\(s\) are dead.*normalisation"):
        snnc.compile(tiny_graph(), x, iters=2)
    # one live channel is enough: a bias of 1 keeps channel 0 of 'r' firing
    snnc.compile(tiny_graph(bias=np.array([1, 0, 0], np.float32)), x, iters=2)


@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_constant_calibration_data_is_rejected(fill):
    with pytest.raises(DataError, match=rf"every calibration input value equals {fill:g} \(constant data\)"):
        snnc.compile(tiny_graph(bias=np.array([1, 0, 0], np.float32)), np.full((8, 1, 6, 6), fill, np.float32))


def test_raw_pixel_values_warn(caplog):
    x = np.random.default_rng(0).integers(0, 256, (8, 1, 6, 6)).astype(np.float32)
    snnc.compile(tiny_graph(), x, iters=1)
    assert "looks like unnormalised 0-255 pixels" in caplog.text
    caplog.clear()
    snnc.compile(tiny_graph(), x / 255, iters=1)
    assert "0-255" not in caplog.text


def test_target_the_network_does_not_fit_writes_and_exits_8(tmp_path, mnist_calib, capsys):
    out = tmp_path / "tn.snnc"
    args = ["compile", str(example_model_path()), "--calib", mnist_calib, "--iters", "2", "--target", "truenorth",
            "-o", str(out)]
    assert main(args) == HardwareError.exit_code
    cap = capsys.readouterr()
    assert "resources on truenorth" in cap.out and "DOES NOT FIT" in cap.out  # the report is printed
    last = cap.err.strip().splitlines()[-1]
    assert last.startswith("error: the network does not fit target 'truenorth'") and "logits" in last
    assert "compile for a target with larger cores" in last
    art = load(out)  # still written, still valid
    assert art.meta["resources"]["fits"] is False and art.meta["target"] == "truenorth"
    assert main(args + ["--json"]) == HardwareError.exit_code
    doc = json.loads(capsys.readouterr().out)
    assert doc["resources"]["fits"] is False and doc["artifact"] == str(out)


def test_compile_help_documents_exit_8(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    assert "8 artifact written, but the network does not fit" in " ".join(capsys.readouterr().out.split())


def test_notes_in_report_json_and_artifact(tmp_path, capsys):
    """An opset-10 model ending in Softmax: both frontend notes reach the compile report."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"), helper.make_node("Flatten", ["r"], ["f"], name="f"),
             helper.make_node("Gemm", ["f", "W", "B"], ["z"], name="fc", transB=1),
             helper.make_node("Softmax", ["z"], ["y"], name="sm")]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.ones((3, 8), np.float32), "W"),
                           numpy_helper.from_array(np.zeros(3, np.float32), "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
    m.ir_version = 8
    onnx.save(onnx.shape_inference.infer_shapes(m), tmp_path / "old.onnx")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((4, 2, 2, 2)).astype(np.float32))
    args = ["compile", str(tmp_path / "old.onnx"), "--calib", str(tmp_path / "x.npy"), "--iters", "1",
            "-o", str(tmp_path / "o.snnc")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "note: opset 10 is outside the tested range 11-21" in out and "note: Softmax node 'sm'" in out
    assert main(args + ["--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert notes == load(tmp_path / "o.snnc").meta["notes"] and len(notes) == 2
