"""Image preprocessing from the command line: compile, simulate and run share --resize/--crop/--mean/--std/--normalize.

Oracle: each image resized, cropped and normalised here by hand with PIL and
numpy (torchvision's Resize(shorter side) / CenterCrop / ToTensor / Normalize
rules written out), independent of snnc.compiler.data.images. The compiled
first layer reads the input through a ReLU, so with ``cpercentile`` at p=100
its calibrated thresholds are the per-channel maxima of ReLU(preprocessed
images): the calibration data itself, seen through the artifact.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from snnc.compiler.artifact import load
from snnc.cli import build_parser, main
from snnc.cli.simulate_cmd import Evaluation
from snnc.compiler.data.preprocess import PRESETS
from snnc.compiler.errors import DataError, UsageError

SIZES = [(12, 16), (15, 11), (13, 13)]  # (height, width): landscape, portrait, square
MEAN, STD = PRESETS["imagenet"]["mean"], PRESETS["imagenet"]["std"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs") / "val"
    rng = np.random.default_rng(7)
    for c in ("ant", "bee"):
        (root / c).mkdir(parents=True)
        for i, (h, w) in enumerate(SIZES):
            Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """x (3x8x8) -> Relu -> 1x1 Conv (2) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (2 classes)."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Relu", ["x"], ["r0"], name="r0"),
             helper.make_node("Conv", ["r0", "W", "B"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r1"], name="r1"),
             helper.make_node("GlobalAveragePool", ["r1"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], name="fc", transB=1)]
    inits = {"W": np.abs(rng.standard_normal((2, 3, 1, 1))).astype(np.float32), "B": np.full(2, 0.1, np.float32),
             "FW": rng.standard_normal((2, 2)).astype(np.float32), "FB": np.zeros(2, np.float32)}
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(m), path)
    return str(path)


def oracle(root, resize, crop, mean=None, std=None):
    """(N, 3, crop, crop) by hand: shorter side to ``resize`` (longer truncated), centre crop, /255, normalise."""
    out = []
    for f in sorted(root.glob("*/*.png")):
        im = Image.open(f).convert("RGB")
        w, h = im.size
        size = (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)
        im = im.resize(size, Image.BILINEAR)
        w, h = im.size
        top, left = int(round((h - crop) / 2)), int(round((w - crop) / 2))
        a = np.asarray(im.crop((left, top, left + crop, top + crop)), np.float64).transpose(2, 0, 1) / 255
        if mean is not None:
            a = (a - np.asarray(mean)[:, None, None]) / np.asarray(std)[:, None, None]
        out.append(a)
    return np.stack(out)


@pytest.fixture(scope="module")
def compiled(folder, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("art") / "tiny.snnc"
    args = ["compile", model, "--calib", str(folder), "--resize", "10", "--crop", "8", "--normalize", "imagenet",
            "--method", "cpercentile", "--percentile", "100", "--iters", "1", "-o", str(out), "--json"]
    assert main(args) == 0
    return out


def test_compile_calibrates_on_preprocessed_images(compiled, folder, capsys):
    art = load(compiled)
    assert art.meta["preprocessing"] == {"resize": 10, "crop": 8, "mean": MEAN, "std": STD}
    x = oracle(folder, 10, 8, MEAN, STD)
    expected = np.maximum(x, 0).max(axis=(0, 2, 3))
    got = art.meta["calibration"]["layers"]["r0"]["thresholds"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    unnormalised = oracle(folder, 10, 8).max(axis=(0, 2, 3))
    assert np.abs(np.asarray(got) - unnormalised).min() > 0.1  # the normalisation was applied


def _evaluation(argv):
    return Evaluation(build_parser(load=argv[0]).parse_args(argv))


def test_simulate_defaults_to_the_artifacts_preprocessing(compiled, folder):
    x = oracle(folder, 10, 8, MEAN, STD)
    np.testing.assert_allclose(_evaluation(["simulate", str(compiled), "--data", str(folder)]).data.x, x, atol=1e-5)
    plain = _evaluation(["simulate", str(compiled), "--data", str(folder), "--normalize", "none"]).data.x
    np.testing.assert_allclose(plain, oracle(folder, 10, 8), atol=1e-5)
    # one option replaced, the others kept: mean/std by hand, resize 12 from the command line
    mixed = _evaluation(["run", str(compiled), "--data", str(folder), "--resize", "12", "--n", "6"]).data.x
    np.testing.assert_allclose(mixed, oracle(folder, 12, 8, MEAN, STD), atol=1e-5)


def test_stored_preprocessing_is_skipped_for_arrays(compiled, tmp_path, caplog):
    x = np.random.default_rng(1).random((4, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    ev = _evaluation(["simulate", str(compiled), "--data", str(tmp_path / "x.npy")])
    np.testing.assert_array_equal(ev.data.x, x)
    assert "is not an image folder and is used as stored" in caplog.text
    with pytest.raises(DataError, match="apply to image folders"):
        _evaluation(["simulate", str(compiled), "--data", str(tmp_path / "x.npy"), "--mean", "0.5"])


@pytest.mark.parametrize("extra,code,words", [
    (["--normalize", "imagenet", "--mean", "0.5"], UsageError.exit_code, "--normalize imagenet sets mean and std"),
    (["--resize", "ten"], UsageError.exit_code, "resize must be a positive integer"),
    (["--crop", "8,8,8"], UsageError.exit_code, "crop must be a positive integer or HEIGHT,WIDTH"),
    (["--std", "0.5,0"], UsageError.exit_code, "std must be non-zero"),
    (["--mean", "0.1,0.2"], DataError.exit_code, "mean has 2 values but the images have 3 channels"),
])
def test_bad_options_fail_before_calibration(folder, model, tmp_path, capsys, extra, code, words):
    assert main(["compile", model, "--calib", str(folder), "-o", str(tmp_path / "o.snnc")] + extra) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err
    assert not (tmp_path / "o.snnc").exists()


def test_preprocessing_given_for_an_array_is_an_error(model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8), np.float32))
    assert main(["compile", model, "--calib", str(tmp_path / "x.npy"), "--normalize", "imagenet",
                 "-o", str(tmp_path / "o.snnc")]) == DataError.exit_code
    assert "apply to image folders and image files only" in capsys.readouterr().err


def test_report_names_the_preprocessing(folder, model, tmp_path, capsys):
    assert main(["compile", model, "--calib", str(folder), "--resize", "9", "--crop", "8,8", "--mean", "0.5", "--std", "0.25",
                 "--iters", "1", "-o", str(tmp_path / "o.snnc")]) == 0
    assert "preprocessing: resize 9; crop 8x8; mean 0.5; std 0.25" in capsys.readouterr().out
    assert main(["compile", model, "--calib", str(folder), "--iters", "1", "-o", str(tmp_path / "p.snnc"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["preprocessing"] == {}
