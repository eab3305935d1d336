"""from_torch / load_model / snnc compile on PyTorch models: the IR graph must compute what torch computes.

Oracle: the torch module's own forward pass (and closed-form counts of call sites).
"""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import ModelLoadError, UsageError
from snnc.compiler.ir import BatchNorm, IFNeuron

from .torch_nets import NET_PY

from ..oracles import assert_network_close


def _reused_relu_net(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        """One ReLU module called at three sites plus one functional relu: four neuron layers."""

        def __init__(self):
            super().__init__()
            self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
            self.c2, self.c3 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)
            self.relu = nn.ReLU()
            self.fc1, self.fc2 = nn.Linear(8 * 4 * 4, 16), nn.Linear(16, 5)

        def forward(self, x):
            a = self.relu(self.bn1(self.c1(x)))
            b = self.relu(self.c2(a))
            c = F.relu(self.c3(b) + a)                    # residual, functional
            d = F.max_pool2d(c, 2).flatten(1)
            return self.fc2(self.relu(self.fc1(d)))

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():  # non-trivial BN statistics
        net.bn1.running_mean.uniform_(-0.5, 0.5)
        net.bn1.running_var.uniform_(0.5, 2.0)
    return net


def _relu_like(graph):
    return [n for n in graph.nodes if n.type in ("ReLU", "Clip")]


def test_each_call_site_is_its_own_activation(torch, rng):
    from snnc.compiler.execute import run
    from snnc.frontends.torch import from_torch
    net = _reused_relu_net(torch).train()
    graph = from_torch(net, (1, 3, 8, 8))
    assert net.training  # the caller's mode is restored
    assert len(_relu_like(graph)) == 4  # relu at a, b, fc1 (module, 3 sites) + F.relu at c
    assert graph.of_type(BatchNorm)  # kept for snnc's BN-folding pass
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(x)).numpy()
    assert_network_close(graph, x, run(graph, x)[graph.outputs[0]], ref)
    assert graph.meta["torch"]["exporter"] == "legacy"


def test_functional_unsupported_activation_is_refused(torch):
    from snnc.compiler.errors import UnsupportedModelError
    from snnc.frontends.torch import from_torch

    class GeluNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x):
            return torch.nn.functional.gelu(self.fc(x))

    with pytest.raises(UnsupportedModelError):
        from_torch(GeluNet(), (1, 4))


def test_upsampling_adaptive_pool_matches_torch(torch, rng):
    """VGG/AlexNet's adaptive pool on a small map (1x1 -> 3x3, 2x2 -> 4x4) is exact replication."""
    from snnc.compiler.execute import run
    from snnc.frontends.torch import from_torch
    nn = torch.nn
    for size, out in ((1, 3), (2, 4), (4, 2)):
        torch.manual_seed(size)
        net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(out), nn.Flatten(),
                            nn.Linear(3 * out * out, 4))
        graph = from_torch(net, (1, 2, size, size))
        x = rng.standard_normal((3, 2, size, size)).astype(np.float32)
        with torch.no_grad():
            ref = net(torch.from_numpy(x)).numpy()
        assert_network_close(graph, x, run(graph, x)[graph.outputs[0]], ref)
        assert isinstance(net[2], nn.AdaptiveAvgPool2d)  # the caller's module is untouched
        assert graph.meta["torch"]["exporter"] == "legacy"  # the stand-in's shape reads raise no TracerWarning


def test_load_model_routes_torch_specs(torch, tmp_path, rng):
    from snnc.compiler.execute import run
    from snnc.frontends import load_model
    from snnc.frontends.torch.spec import class_from_file
    (tmp_path / "net.py").write_text(NET_PY)
    ref = class_from_file(tmp_path / "net.py", "Net").eval()
    torch.save({"state_dict": ref.state_dict()}, tmp_path / "w.pth")
    graph = load_model(f"{tmp_path / 'net.py'}:Net", weights=str(tmp_path / "w.pth"), input_shape="1,1,8,8")
    x = rng.random((2, 1, 8, 8), dtype=np.float32)
    with torch.no_grad():
        assert_network_close(graph, x, run(graph, x)[graph.outputs[0]], ref(torch.from_numpy(x)).numpy())
    with pytest.raises(UsageError, match="--weights applies to PyTorch"):
        load_model(str(tmp_path / "m.onnx"), weights="w.pth")




@pytest.fixture
def cli_files(torch, tmp_path, rng):
    from snnc.frontends.torch.spec import class_from_file
    (tmp_path / "net.py").write_text(NET_PY)
    torch.save(class_from_file(tmp_path / "net.py", "Net").state_dict(), tmp_path / "w.pth")
    np.save(tmp_path / "calib.npy", rng.random((16, 1, 8, 8), dtype=np.float32))
    return tmp_path


def test_cli_compiles_a_py_spec(cli_files, monkeypatch, capsys):
    import snnc
    from snnc.cli import main
    monkeypatch.chdir(cli_files)
    rc = main(["compile", "net.py:Net", "--weights", "w.pth", "--input-shape", "1,1,8,8", "--calib", "calib.npy"])
    assert rc == 0, capsys.readouterr().err
    art = snnc.load(cli_files / "net_Net.snnc")
    assert art.meta["source"]["path"] == "net.py:Net"
    assert len(art.snn.of_type(IFNeuron)) == 1


@pytest.mark.parametrize("argv, code, message", [
    (["net.py:Nope", "--input-shape", "1,1,8,8"], ModelLoadError.exit_code, "defines no class 'Nope'"),
    (["net.py:Net"], UsageError.exit_code, "--input-shape"),
    (["net.py:Net", "--input-shape", "1,1,8,8", "--weights", "calib.npy"], ModelLoadError.exit_code,
     "cannot read weights file"),
])
def test_cli_bad_torch_inputs_exit_nonzero(cli_files, monkeypatch, capsys, argv, code, message):
    from snnc.cli import main
    monkeypatch.chdir(cli_files)
    assert main(["compile", *argv, "--calib", "calib.npy"]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_dynamo_exporter_is_the_fallback(torch, rng, monkeypatch):
    """When the legacy exporter fails, the dynamo exporter's model (BN folded, Reshape) imports the same."""
    from snnc.compiler.execute import run
    from snnc.frontends.torch import export, from_torch

    def legacy_fails(model, x):
        raise RuntimeError("simulated legacy exporter failure")
    monkeypatch.setattr(export, "_export_legacy", legacy_fails)
    net = _reused_relu_net(torch)
    graph = from_torch(net, (1, 3, 8, 8))
    assert graph.meta["torch"]["exporter"] == "dynamo"
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(x)).numpy()
    assert_network_close(graph, x, run(graph, x)[graph.outputs[0]], ref)
    assert len(_relu_like(graph)) == 4


def test_spec_to_onnx_runs_in_onnxruntime(torch, ort, cli_files, rng):
    """The exported ModelProto is valid ONNX: onnxruntime reproduces torch's output."""
    from snnc.frontends import load_model
    from snnc.frontends.torch import spec_to_onnx
    from snnc.frontends.torch.spec import class_from_file
    proto = spec_to_onnx(f"{cli_files / 'net.py'}:Net", weights=cli_files / "w.pth", input_shape="1,1,8,8")
    ref = class_from_file(cli_files / "net.py", "Net")
    ref.load_state_dict(torch.load(cli_files / "w.pth", weights_only=True))
    x = rng.random((1, 1, 8, 8), dtype=np.float32)
    got = ort.InferenceSession(proto.SerializeToString()).run(None, {"input": x})[0]
    with torch.no_grad():
        graph = load_model(f"{cli_files / 'net.py'}:Net", weights=str(cli_files / "w.pth"), input_shape="1,1,8,8")
        assert_network_close(graph, x, got, ref.eval()(torch.from_numpy(x)).numpy())
