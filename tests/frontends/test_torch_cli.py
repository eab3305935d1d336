"""``snnc compile torchvision:NAME --weights FILE.pth`` end to end, and weights of another architecture.

Oracles: torch's forward pass of a resnet18 holding the saved weights (with
``--method max`` no calibration sample exceeds its threshold, so the compiled
network evaluated as an ANN must reproduce it on those samples, which it can
only do if the file's weights were loaded), and a brute-force scan of the two
state dicts for the first tensor that does not fit.
"""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import ModelLoadError


@pytest.fixture
def resnet_files(torch, tmp_path):
    import torchvision
    torch.manual_seed(1)
    model = torchvision.models.resnet18()  # what torchvision:resnet18 builds (1000 classes)
    with torch.no_grad():  # BN statistics other than (0, 1), so a load that skipped buffers shows
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    torch.save(model.state_dict(), tmp_path / "r18.pth")
    calib = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "calib.npy", calib)
    return tmp_path, model.eval(), calib


def test_cli_compiles_torchvision_resnet18_with_a_weights_file(torch, resnet_files, monkeypatch, capsys):
    import snnc
    from snnc.cli import main
    from snnc.compiler.execute import run
    from snnc.compiler.ir import IFNeuron
    tmp, model, calib = resnet_files
    monkeypatch.chdir(tmp)
    rc = main(["compile", "torchvision:resnet18", "--weights", "r18.pth", "--input-shape", "1,3,32,32",
               "--calib", "calib.npy", "--method", "max", "--iters", "1", "-o", "r18.snnc"])
    assert rc == 0, capsys.readouterr().err
    art = snnc.load(tmp / "r18.snnc")
    assert art.meta["source"]["path"] == "torchvision:resnet18"
    assert len(art.snn.of_type(IFNeuron)) == 17  # stem + 2 per basic block x 8
    with torch.no_grad():
        ref = model(torch.from_numpy(calib)).numpy()
    np.testing.assert_allclose(run(art.snn, calib)[art.snn.outputs[0]], ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


def test_cli_weights_of_another_architecture_name_the_first_misfit(torch, tmp_path, monkeypatch, capfd):
    import torchvision
    from snnc.cli import main
    r18 = torchvision.models.resnet18().state_dict()
    r50 = torchvision.models.resnet50().state_dict()
    torch.save(r50, tmp_path / "r50.pth")
    np.save(tmp_path / "calib.npy", np.zeros((2, 3, 32, 32), np.float32))
    first = next(k for k, v in r18.items() if k not in r50 or r50[k].shape != v.shape)  # brute force
    monkeypatch.chdir(tmp_path)
    rc = main(["compile", "torchvision:resnet18", "--weights", "r50.pth", "--input-shape", "1,3,32,32",
               "--calib", "calib.npy", "--iters", "1"])
    out, err = capfd.readouterr()
    assert rc == ModelLoadError.exit_code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: weights r50.pth do not match"), err
    assert f"shape mismatch for tensor {first!r}" in lines[0]
    assert f"the file has {tuple(r50[first].shape)}, the model needs {tuple(r18[first].shape)}" in lines[0]
    assert not list(tmp_path.glob("*.snnc"))
