"""``snnc.compile`` and ``snnc compile``: artifact contents, determinism, the example model, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

import snnc
from snnc.compiler.artifact import load
from snnc.cli import main
from snnc.compiler.errors import CalibrationError, ModelLoadError, UnsupportedModelError, UsageError
from snnc.compiler.execute import run
from snnc.compiler.ir import Conv2d, Flatten, Graph, Input, Linear, MaxPool2d, ReLU

from ..oracles import artifact_clip_ann


def export(torch, model, shape, path):
    model.eval()
    torch.onnx.export(model, torch.zeros((1,) + shape), str(path), dynamo=False, input_names=["x"])
    return str(path)


@pytest.fixture(scope="session")
def onnx_models(tmp_path_factory, require):
    """Small ONNX CNNs exported from torch: a convertible one, one with Tanh, one without ReLU, one with NaN."""
    torch = require("torch")
    nn = torch.nn
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("onnx")

    def cnn(act=nn.ReLU):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), act(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, 3), act(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(),
                             nn.Linear(6 * 2 * 2, 10))
    good = cnn()
    good[1].running_mean.uniform_(-0.5, 0.5)
    good[1].running_var.uniform_(0.5, 2.0)
    nan = cnn()
    with torch.no_grad():
        nan[0].weight[0, 0, 0, 0] = float("nan")
    linear_only = nn.Sequential(nn.Flatten(), nn.Linear(144, 10))
    return {"good": export(torch, good, (1, 12, 12), d / "good.onnx"),
            "tanh": export(torch, cnn(nn.Tanh), (1, 12, 12), d / "tanh.onnx"),
            "nan": export(torch, nan, (1, 12, 12), d / "nan.onnx"),
            "norelu": export(torch, linear_only, (1, 12, 12), d / "norelu.onnx")}


@pytest.fixture(scope="session")
def calib_file(tmp_path_factory):
    x = np.random.default_rng(0).random((120, 1, 12, 12)).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "calib.npy"
    np.save(path, x)
    return str(path)


def ir_model(rng):
    w = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
    return Graph.build([("x", Input(shape=(2, 6, 6)), []), ("c", Conv2d(weight=w(3, 2, 3, 3), bias=w(3)), ["x"]),
                        ("r", ReLU(), ["c"]), ("p", MaxPool2d(), ["r"]), ("f", Flatten(), ["p"]),
                        ("l", Linear(weight=w(4, 12), bias=w(4)), ["f"])], ["l"])


def test_api_compiles_graph_with_full_meta(rng):
    x = rng.standard_normal((50, 2, 6, 6)).astype(np.float32)
    art = snnc.compile(ir_model(rng), x, iters=3, batch_size=10)
    m = art.meta
    assert m["target"] == "loihi2" and m["spike_comparison"] == ">=" and m["snnc_version"] == snnc.__version__
    assert m["options"] == {"method": "auto", "iters": 3, "batch_size": 10, "delay": "auto",
                            "pool_mode": "auto", "reset": "subtract"}
    assert m["calibration"]["requested"] == "auto" and m["calibration"]["method"] in ("cltb", "ltb", "percentile", "max")
    assert m["readout"] == {"mode": "auto", "t0": m["calibration"]["t0"]}
    assert m["pool_modes"] == {"p": "pre-neuron"}
    assert [e["pass"] for e in m["pass_log"]][:3] == ["remove_identity", "fold_batchnorm", "fold_affine"]
    assert set(m["calibration"]["layers"]["r"]) >= {"activation_percentiles", "threshold", "expected_rate"}
    assert art.readout_delay(100) == min(int(m["calibration"]["t0"]), 96)
    out = run(art.snn, x)[art.snn.outputs[0]]
    ref = artifact_clip_ann(art, x)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def test_api_fixed_delay_and_options(rng):
    x = rng.standard_normal((20, 2, 6, 6)).astype(np.float32)
    art = snnc.compile(ir_model(rng), x, delay=3, method="percentile", percentile=99.0, reset="zero",
                       pool_mode="cumulative")
    assert art.meta["readout"] == {"mode": "fixed", "delay": 3} and art.readout_delay(10) == 3
    assert art.meta["calibration"]["percentile"] == 99.0
    assert {n.op.reset for n in art.snn.nodes if n.type == "IFNeuron"} == {"zero"}
    assert art.meta["pool_modes"] == {"p": "cumulative"}
    for bad in [{"delay": "soon"}, {"delay": -1}, {"method": "magic"}, {"pool_mode": "avg"}, {"reset": "leak"},
                {"tol": 0.0}, {"tol": 1.5}]:
        with pytest.raises(UsageError):
            snnc.compile(ir_model(rng), x, **bad)


def test_api_deterministic_bytes(rng, tmp_path):
    g = ir_model(rng)
    x = rng.standard_normal((30, 2, 6, 6)).astype(np.float32)
    a, b = snnc.compile(g, x), snnc.compile(g, x)
    assert a.to_bytes() == b.to_bytes()
    back = load(a.save(tmp_path / "m.snnc"))
    assert back.meta == json.loads(json.dumps(a.meta)) and len(back.snn) == len(a.snn)


def test_no_relu_and_nonfinite_weights(rng):
    g = Graph.build([("x", Input(shape=(3,)), []), ("l", Linear(weight=np.ones((2, 3), np.float32), bias=None), ["x"])], ["l"])
    with pytest.raises(CalibrationError, match="no ReLU"):
        snnc.compile(g, np.ones((4, 3), np.float32))
    w = np.ones((2, 3), np.float32)
    w[1, 2] = np.inf
    g = Graph.build([("x", Input(shape=(3,)), []), ("l", Linear(weight=w, bias=None), ["x"]), ("r", ReLU(), ["l"])], ["r"])
    with pytest.raises(ModelLoadError, match="'l'"):
        snnc.compile(g, np.ones((4, 3), np.float32))


def test_cli_compile_report_json_and_determinism(onnx_models, calib_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["compile", onnx_models["good"], "--calib", calib_file, "--iters", "2", "--batch-size", "30"]
    assert main(args) == 0
    text = capsys.readouterr().out
    for word in ("pass log", "max pools", "readout delay", "theta min", "fold_thresholds", "readout"):
        assert word in text
    first = (tmp_path / "good.snnc").read_bytes()  # default output: <model>.snnc in cwd
    assert main(args + ["--json", "-o", str(tmp_path / "again.snnc"), "--plot", str(tmp_path / "cal.png")]) == 0
    assert (tmp_path / "cal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(capsys.readouterr().out)
    assert doc["target"] == "loihi2" and doc["source"]["sha256"] and doc["layers"][-1]["kind"] == "readout"
    assert (tmp_path / "again.snnc").read_bytes() == first
    art = load(tmp_path / "good.snnc")
    x = np.load(calib_file)[:40]
    ref = artifact_clip_ann(art, x)
    assert np.abs(run(art.snn, x)[art.snn.outputs[0]] - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("model,extra,code", [
    ("tanh", [], UnsupportedModelError.exit_code),
    ("nan", [], ModelLoadError.exit_code),
    ("norelu", [], CalibrationError.exit_code),
    ("good", ["--delay", "x"], UsageError.exit_code),
    ("missing", [], ModelLoadError.exit_code),
])
def test_cli_bad_models_exit_nonzero(onnx_models, calib_file, tmp_path, capsys, model, extra, code):
    path = onnx_models.get(model, str(tmp_path / "missing.onnx"))
    assert main(["compile", path, "--calib", calib_file, "-o", str(tmp_path / "o.snnc")] + extra) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("target", ["nosuch", "cmos45"])
def test_cli_bad_target_fails_before_calibration(onnx_models, calib_file, tmp_path, capsys, target, monkeypatch):
    import snnc.compiler.passes.pipeline as pipeline
    from snnc.compiler.errors import HardwareError

    def no_calibration(*a, **k):
        raise AssertionError("calibration ran although the target is invalid")
    monkeypatch.setattr(pipeline, "calibrate", no_calibration)
    assert main(["compile", onnx_models["good"], "--calib", calib_file, "--target", target,
                 "-o", str(tmp_path / "o.snnc")]) == HardwareError.exit_code
    assert target in capsys.readouterr().err and not (tmp_path / "o.snnc").exists()


@pytest.mark.parametrize("data,code", [
    (np.zeros((5, 1, 10, 10), np.float32), 6), (np.zeros((0, 1, 12, 12), np.float32), 6),
    (np.full((5, 1, 12, 12), np.nan, np.float32), 6), (np.zeros((5, 1, 12, 12), np.int64), 6),
    (np.full((5, 1, 12, 12), 1e6, np.float32), 6),
])
def test_cli_bad_calibration_data_exit_6(onnx_models, tmp_path, capsys, data, code):
    np.save(tmp_path / "bad.npy", data)
    assert main(["compile", onnx_models["good"], "--calib", str(tmp_path / "bad.npy"), "-o", str(tmp_path / "o.snnc")]) == code
    assert capsys.readouterr().err.startswith("error: ")


def test_example_model_converts_exactly(tmp_path):
    from snnc.compiler.data import example_model_path, load_data
    path = example_model_path()
    art = snnc.compile(path, "mnist", iters=5)
    x = load_data("mnist", input_shape=art.ann.inputs[0].shape).x[:200]
    ref = artifact_clip_ann(art, x)
    out = run(art.snn, x)[art.snn.outputs[0]]
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    assert art.meta["source"]["path"] == str(path)
