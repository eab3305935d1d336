"""torchvision ResNet-18 end to end: BN statistics on data, from_torch, compile, simulate.

Oracles: torch's forward pass. With ``method="max"`` no calibration sample
exceeds its threshold, so on those samples the compiled graph evaluated as an
ANN (the clip-ANN) must equal torch's output; the IF simulation must approach
it as T grows (algorithms.md section 1). Unsupported families are refused by
the module-type scan, checked on 'meta'-device models (instant, no weights).
"""
from __future__ import annotations

import numpy as np
import pytest

from ..oracles import assert_network_close


def _cos(a, b):
    return float(np.mean((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


@pytest.fixture
def resnet18_case(torch):
    import torchvision
    from snnc.frontends.torch import calibrate_bn_stats
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((16, 3, 32, 32)).astype(np.float32)
    model = calibrate_bn_stats(torchvision.models.resnet18(num_classes=10), calib)
    with torch.no_grad():
        ref = model(torch.from_numpy(calib)).numpy()
    return model, calib, ref


@pytest.mark.slow
def test_resnet18_imports_compiles_and_simulates(resnet18_case):
    import snnc
    from snnc.compiler.execute import run
    from snnc.compiler.ir import IFNeuron
    model, calib, ref = resnet18_case
    graph = snnc.from_torch(model, (1, 3, 32, 32), name="torchvision:resnet18")
    assert_network_close(graph, calib, run(graph, calib)[graph.outputs[0]], ref)

    art = snnc.compile(graph, calib=calib, method="max")
    assert len(art.snn.of_type(IFNeuron)) == 17  # stem + 2 per basic block x 8
    clip = run(art.snn, calib)[art.snn.outputs[0]]
    np.testing.assert_allclose(clip, ref, rtol=1e-3, atol=1e-3)

    res = snnc.simulate(art, calib[:2], T=(16, 256), show_progress=False)
    err16, err256 = (np.abs(res.logits[t] - ref[:2]).mean() for t in (16, 256))
    assert err256 < err16  # converges with T
    assert _cos(res.logits[256], ref[:2]) > 0.9  # measured 0.95: quantisation error of 17 layers at T=256


@pytest.mark.slow
def test_resnet18_cltb_snn_converges_to_its_clip_ann(resnet18_case):
    """The SNN's error shrinks with T towards its own clip-ANN; its distance to the ANN is the clipping's.

    Measured (seed 0, 4 images, cltb K=8): cos(SNN, clip-ANN) 0.93 at T=32, 0.998 at T=256;
    cos(SNN, ANN) 0.561 vs cos(clip-ANN, ANN) 0.555 (cltb clips these random-weight logits on
    purpose); the input-independent level, the mean cosine between the ANN logits of different
    images, is 0.33.
    """
    import snnc
    from snnc.compiler.execute import run
    model, calib, ref = resnet18_case
    art = snnc.compile(snnc.from_torch(model, (1, 3, 32, 32)), calib=calib, method="cltb", iters=8, batch_size=8)
    x, ann = calib[:4], ref[:4]
    clip = run(art.snn, x)[art.snn.outputs[0]]
    res = snnc.simulate(art, x, T=(32, 256), show_progress=False)
    snn_clip = {t: _cos(res.logits[t], clip) for t in (32, 256)}
    assert snn_clip[32] < snn_clip[256] and snn_clip[256] > 0.99
    assert abs(_cos(res.logits[256], ann) - _cos(clip, ann)) < 0.02  # the rest of the error is clipping
    assert _cos(clip, ann) > _input_cos(ref) + 0.1  # the clip-ANN still follows the input


def _input_cos(logits):
    """Mean cosine between the logits of distinct images: what an input-independent output scores."""
    u = logits / np.linalg.norm(logits, axis=1, keepdims=True)
    g = u @ u.T
    return float((g.sum() - np.trace(g)) / (len(u) * (len(u) - 1)))


@pytest.mark.parametrize("name, kinds, where", [
    ("mobilenet_v3_small", "Hardswish, Hardsigmoid", "Hardswish at features.0.2"),
    ("efficientnet_b0", "SiLU, Sigmoid", "SiLU at features.0.2"),
    ("vit_b_16", "LayerNorm, MultiheadAttention, GELU", "MultiheadAttention at encoder.layers.encoder_layer_0"),
    ("convnext_tiny", "LayerNorm, GELU", "GELU at features.1.0.block.4"),
    ("swin_t", "LayerNorm, GELU", "LayerNorm at features.0.2"),
])
def test_unsupported_torchvision_families_name_their_activation(torch, require, name, kinds, where):
    """The scan looks at module types only: a model on the 'meta' device (no weights) is refused at once."""
    torchvision = require("torchvision")
    from snnc.compiler.errors import UnsupportedModelError
    from snnc.frontends.torch import from_torch
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None)
    with pytest.raises(UnsupportedModelError) as e:
        from_torch(model, (1, 3, 224, 224), name=f"torchvision:{name}")
    first, *details = str(e.value).splitlines()
    assert first == f"torchvision:{name} uses {len(kinds.split(', '))} unsupported activation/layer type(s) ({kinds}):"
    assert any(line.strip().startswith(where) for line in details), details
    assert "retrain the model with ReLU" in details[-1]
