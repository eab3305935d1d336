"""Whole torchvision models exported by both torch exporters, imported with
load_onnx and run by the NumPy executor, against onnxruntime: the output and
every intermediate ONNX tensor that maps to an IR node (which localises a
diverging node), within 1e-4 relative to each tensor's magnitude.

Legacy exporter (``dynamo=False``, constant folding off): keeps
BatchNormalization, GlobalAveragePool, Flatten, Identity-wrapped weights,
symbolic batch. Dynamo exporter (the default): BN folded into Conv, ReduceMean
+ Reshape for the pooling head, fixed batch. shufflenet_v2 (channel shuffle +
``chunk`` -> ChannelSlice) also compiles, folds to its clip-ANN and simulates.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import snnc
from snnc.compiler.execute import run
from snnc.frontends.onnx import load_onnx

from ..oracles import artifact_clip_ann, assert_network_close

# name -> (input size, batch); VGG's adaptive 7x7 pool needs a 224 input to export with both exporters
MODELS = {"resnet18": (64, 2), "vgg11_bn": (224, 1), "mobilenet_v2": (64, 2), "squeezenet1_1": (64, 2),
          "densenet121": (64, 2), "googlenet": (64, 2), "shufflenet_v2_x0_5": (64, 2)}
EXPORTERS = ("legacy", "dynamo")


@pytest.fixture(scope="session")
def exported(tmp_path_factory, require, randomise_bn):
    """export(name, exporter) -> (path, input batch); each model is exported once per session."""
    torch, tv = require("torch"), require("torchvision")
    require("onnxruntime")
    root = tmp_path_factory.mktemp("onnx_exports")
    cache = {}

    def export(name, exporter):
        if (name, exporter) not in cache:
            torch.manual_seed(0)
            kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
            model = getattr(tv.models, name)(weights=None, **kw).eval()
            randomise_bn(torch, model)
            size, batch = MODELS[name]
            x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32))
            path = root / f"{name}_{exporter}.onnx"
            if exporter == "legacy":
                torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=13, input_names=["x"],
                                  do_constant_folding=False, dynamic_axes={"x": {0: "N"}})
            else:
                torch.onnx.export(model, (x,), str(path), input_names=["x"])
            cache[name, exporter] = (path, x.numpy())
        return cache[name, exporter]
    return export


@pytest.mark.slow
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_onnxruntime(exported, ort_values, name, exporter):
    path, x = exported(name, exporter)
    g = load_onnx(path)
    tensors = dict(g.meta["onnx_tensors"])
    ref = ort_values(path, x, tensors)
    got = run(g, x, keep=list(tensors.values()))
    for t, node in tensors.items():  # in topological order: the first failure is the diverging node
        assert_network_close(g, x, got[node], ref[t], f"{name}/{exporter}: IR node {node!r} (ONNX tensor {t!r})",
                             output=node)
    out = onnx.load(str(path), load_external_data=False).graph.output[0].name
    assert_network_close(g, x, got[g.outputs[0]], ref[out], f"{name}/{exporter}: output")
    types = {n.type for n in g}
    if exporter == "legacy":
        assert "GlobalAvgPool2d" in types or name == "vgg11_bn"
    if name.startswith("shufflenet"):  # channel shuffle + chunk: two halves in each of 13 stride-1 blocks
        assert sum(t == "ChannelSlice" for t in (n.type for n in g)) >= 2 * 13
    if exporter == "legacy" and name != "squeezenet1_1":
        assert "BatchNorm" in types
    if exporter == "dynamo":  # BN after a conv is folded by the exporter; densenet's pre-activation BN stays
        assert g.meta["source"]["opset"] >= 18 and ("BatchNorm" not in types or name == "densenet121")


def _tiny_net(torch):
    """A small net written the way people write them: view-based channel shuffle and flatten,
    interpolate (nearest and bilinear), ReLU6, ceil-mode average pooling, dropout, mean over H, W."""
    nn, F = torch.nn, torch.nn.functional

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=4)
            self.c3 = nn.Conv2d(16, 8, 1)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(8 * 4 * 4, 5)
            self.fc2 = nn.Linear(8, 5)

        def forward(self, x):
            y = F.relu6(self.bn(self.c1(x)))
            n, c, h, w = y.shape
            y = y.view(n, 4, c // 4, h, w).transpose(1, 2).contiguous().view(n, c, h, w)  # channel shuffle
            z = F.relu(self.c2(y))
            up = F.interpolate(F.max_pool2d(z, 2), scale_factor=2, mode="nearest")
            y = torch.cat([z, up], 1)
            # count_include_pad=False: onnxruntime before opset 19 also counts the ceil-mode overhang
            # (torch and the ONNX reference do not; the kernel follows them, see test_execute_kernels)
            y = F.avg_pool2d(F.relu(self.c3(y)), 3, 2, ceil_mode=True, count_include_pad=False)  # 16 -> 8
            y = F.interpolate(y, size=(6, 6), mode="bilinear", align_corners=False)
            y = F.interpolate(y, size=(4, 4), mode="bilinear", align_corners=True)
            head = self.fc2(y.mean(dim=(2, 3)))
            y = self.drop(y)
            return self.fc(y.view(y.size(0), -1)) + head
    return Tiny()


@pytest.mark.parametrize("exporter", ["legacy", pytest.param("dynamo", marks=pytest.mark.slow)])
def test_tiny_torch_net_both_exporters(tmp_path, torch, ort, randomise_bn, exporter):
    torch.manual_seed(0)
    model = _tiny_net(torch).eval()
    randomise_bn(torch, model)
    x = torch.randn(3, 3, 16, 16)
    path = tmp_path / "tiny.onnx"
    if exporter == "legacy":
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=11, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}})
    else:
        torch.onnx.export(model, (x,), str(path), input_names=["x"])
    g = load_onnx(path)
    types = [n.type for n in g]
    assert "ChannelPermute" in types and types.count("Resize") == 3 and "Clip" in types
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    got = run(g, x.numpy())[g.outputs[0]]
    assert_network_close(g, x.numpy(), got, ref, "onnxruntime")
    with torch.no_grad():
        assert_network_close(g, x.numpy(), got, model(x).numpy(), "torch")


@pytest.mark.slow
def test_shufflenet_compiles_folds_and_simulates(exported):
    path, x = exported("shufflenet_v2_x0_5", "legacy")
    calib = np.random.default_rng(1).standard_normal((32,) + x.shape[1:]).astype(np.float32)
    art = snnc.compile(str(path), calib=calib, batch_size=16)
    assert any(n.type == "ChannelSlice" for n in art.snn)
    ref = artifact_clip_ann(art, x)
    out = run(art.snn, x)[art.snn.outputs[0]]
    assert np.abs(out - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max()))
    r = snnc.simulate(art, x, T=[8, 16], show_progress=False)
    assert r.activity.layers and sum(sum(lay.sop_per_step) for lay in r.activity.layers) > 0
