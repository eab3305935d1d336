"""torchvision ResNet-18 end to end: BN statistics on data, from_torch, compile, simulate.

Oracles: torch's forward pass. With ``method="max"`` no calibration sample
exceeds its threshold, so on those samples the compiled graph evaluated as an
ANN (the clip-ANN) must equal torch's output; the IF simulation must approach
it as T grows (algorithms.md section 1).
"""
from __future__ import annotations

import numpy as np
import pytest


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
    np.testing.assert_allclose(run(graph, calib)[graph.outputs[0]], ref, rtol=1e-3, atol=1e-4)

    art = snnc.compile(graph, calib=calib, method="max")
    assert len(art.snn.of_type(IFNeuron)) == 17  # stem + 2 per basic block x 8
    clip = run(art.snn, calib)[art.snn.outputs[0]]
    np.testing.assert_allclose(clip, ref, rtol=1e-3, atol=1e-3)

    res = snnc.simulate(art, calib[:2], T=(16, 256), show_progress=False)
    err16, err256 = (np.abs(res.logits[t] - ref[:2]).mean() for t in (16, 256))
    assert err256 < err16  # converges with T
    assert _cos(res.logits[256], ref[:2]) > 0.9  # measured 0.95: quantisation error of 17 layers at T=256


@pytest.mark.slow
def test_resnet18_cltb_snn_tracks_its_clip_ann(resnet18_case):
    import snnc
    from snnc.compiler.execute import run
    model, calib, ref = resnet18_case
    art = snnc.compile(snnc.from_torch(model, (1, 3, 32, 32)), calib=calib, method="cltb", iters=8, batch_size=8)
    clip = run(art.snn, calib[:2])[art.snn.outputs[0]]
    res = snnc.simulate(art, calib[:2], T=256, show_progress=False)
    assert _cos(res.logits[256], clip) > 0.99
    assert _cos(res.logits[256], ref[:2]) > 0.3  # cltb clips on purpose: near, not equal, to the ANN
