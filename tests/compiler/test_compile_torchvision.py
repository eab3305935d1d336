"""Folding equivalence on ONNX exports of torchvision resnet18, vgg11_bn and mobilenet_v2 (random weights).

The folded unit-threshold SNN graph (evaluated as an ANN) must equal the
clip-ANN computed from the imported source graph with each activation clipped
at its calibrated thresholds, within 1e-5 of the output scale. BN statistics
are randomised so that batch-norm folding is not trivial.
"""
from __future__ import annotations

import numpy as np
import pytest

import snnc
from snnc.compiler.execute import run
from snnc.compiler.ir import BatchNorm, ReLU

from ..oracles import artifact_clip_ann

pytestmark = pytest.mark.slow


def _vgg(tv, torch):
    m = tv.models.vgg11_bn(num_classes=10)
    m.avgpool = torch.nn.Identity()
    m.classifier[0] = torch.nn.Linear(512 * 2 * 2, 4096)  # 64x64 input -> 2x2 feature map
    return m


BUILDERS = {
    "resnet18": lambda tv, torch: tv.models.resnet18(num_classes=10),
    "vgg11_bn": _vgg,
    "mobilenet_v2": lambda tv, torch: tv.models.mobilenet_v2(num_classes=10),
}


@pytest.fixture(scope="session")
def torchvision_onnx(tmp_path_factory, require, randomise_bn):
    torch, tv = require("torch"), require("torchvision")
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("tv")
    paths = {}
    for name, build in BUILDERS.items():
        model = build(tv, torch).eval()
        with torch.no_grad():
            randomise_bn(torch, model, seed=0)
        paths[name] = str(d / f"{name}.onnx")
        torch.onnx.export(model, torch.zeros(1, 3, 64, 64), paths[name], dynamo=False, input_names=["x"])
    return paths


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_torchvision_folding_equals_clip_ann(torchvision_onnx, name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3, 64, 64)).astype(np.float32)
    art = snnc.compile(torchvision_onnx[name], x, iters=2, batch_size=12)
    assert not art.snn.of_type(BatchNorm, ReLU)
    xt = rng.standard_normal((8, 3, 64, 64)).astype(np.float32)
    ref = artifact_clip_ann(art, xt)
    out = run(art.snn, xt)[art.snn.outputs[0]]
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    if name == "resnet18":  # identity skips need explicit gains, projection skips absorb them
        assert art.snn.of_type(snnc.compiler.ir.ChannelAffine)
