"""torchvision shufflenet_v2_x0_5 (channel shuffle + ``chunk`` -> ChannelSlice) end to end.

Random weights and BN statistics, 64x64 input, both torch exporters: load_onnx
and the NumPy executor match onnxruntime on every IR-mapped tensor; the legacy
export compiles with ``snnc.compile``, its folded unit-threshold net equals
the clip-ANN (executor hook oracle), and it simulates with SOPs counted.
"""
from __future__ import annotations

import importlib
import os

import numpy as np
import onnx
import pytest

import snnc
from snnc.compiler.execute import run
from snnc.frontends.onnx import load_onnx

SIZE = 64


def _require(module):
    """Import ``module``; skip when missing, fail under SNNC_REQUIRE_TORCH=1 (as tests/conftest.py)."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001
        if os.environ.get("SNNC_REQUIRE_TORCH") == "1":
            pytest.fail(f"{module} is required (SNNC_REQUIRE_TORCH=1) but does not import: {e}")
        pytest.skip(f"{module} not available: {e}")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch, torchvision = _require("torch"), _require("torchvision")
    _require("onnxruntime")
    torch.manual_seed(0)
    model = torchvision.models.shufflenet_v2_x0_5(weights=None).eval()
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, SIZE, SIZE)).astype(np.float32))
    root = tmp_path_factory.mktemp("shufflenet")
    paths = {"legacy": root / "legacy.onnx", "dynamo": root / "dynamo.onnx"}
    torch.onnx.export(model, (x,), str(paths["legacy"]), dynamo=False, opset_version=13, input_names=["x"],
                      do_constant_folding=False, dynamic_axes={"x": {0: "N"}})
    torch.onnx.export(model, (x,), str(paths["dynamo"]), input_names=["x"])
    return paths, x.numpy()


def _ort_values(ort, path, x, names):
    m = onnx.load(str(path))
    have = {o.name for o in m.graph.output}
    m.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                          for n in names if n not in have)
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return {o.name: v for o, v in zip(s.get_outputs(), s.run(None, {s.get_inputs()[0].name: x}))}


@pytest.mark.slow
@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_shufflenet_matches_onnxruntime(exported, ort, exporter):
    paths, x = exported
    g = load_onnx(paths[exporter])
    assert sum(n.type == "ChannelSlice" for n in g) >= 2 * 13   # two halves in each of 13 stride-1 blocks
    tensors = dict(g.meta["onnx_tensors"])
    ref = _ort_values(ort, paths[exporter], x, tensors)
    got = run(g, x, keep=list(tensors.values()))
    for t, node in tensors.items():
        scale = max(1e-6, float(np.abs(ref[t]).max()))
        err = float(np.abs(got[node] - ref[t]).max()) / scale
        assert err < 1e-4, f"IR node {node!r} (ONNX tensor {t!r}) differs by {err:.2e} relative"


@pytest.mark.slow
def test_shufflenet_compiles_folds_and_simulates(exported):
    paths, x = exported
    calib = np.random.default_rng(1).standard_normal((32, 3, SIZE, SIZE)).astype(np.float32)
    art = snnc.compile(str(paths["legacy"]), calib=calib, batch_size=16)
    assert any(n.type == "ChannelSlice" for n in art.snn)
    th = {k: np.asarray(v["thresholds"], np.float32) for k, v in art.meta["calibration"]["layers"].items()}

    def hook(name, v):
        if name in th:
            return np.minimum(v, th[name].reshape((1, -1) + (1,) * (v.ndim - 2)))
    ref = run(art.ann, x, hook=hook)[art.ann.outputs[0]]
    out = run(art.snn, x)[art.snn.outputs[0]]
    assert np.abs(out - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max()))
    r = snnc.simulate(art, x, T=[8, 16], show_progress=False)
    assert r.activity.layers and sum(sum(lay.sop_per_step) for lay in r.activity.layers) > 0
