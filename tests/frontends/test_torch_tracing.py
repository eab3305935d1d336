"""Export guards: data-dependent control flow is refused, a wrong input shape is one line, torch stays quiet.

Oracles: torch's own eager forward pass (the graph must compute it for inputs
on both sides of a branch) and the text torch raises for a misshapen input.
"""
from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np
import pytest

from snnc.compiler.errors import DataError, UnsupportedModelError

from .torch_nets import NET_PY

from ..oracles import assert_network_close


def _branchy(torch):
    class Branchy(torch.nn.Module):
        """relu(y) if the pre-activations y sum to > 0, else relu(y + 1): a trace keeps one branch."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            if y.sum() > 0:
                return torch.relu(y)
            return torch.relu(y + 1.0)

    return Branchy()


def _torch_out(torch, net, x):
    with torch.no_grad():
        return net.eval()(torch.from_numpy(x)).numpy()


def test_trace_of_one_branch_would_be_wrong_so_it_is_refused(torch, monkeypatch, capfd):
    from snnc.compiler.execute import run
    from snnc.frontends.torch import export, from_torch
    net = _branchy(torch)
    with pytest.raises(UnsupportedModelError) as e:
        from_torch(net, (1, 4))
    msg = str(e.value)
    assert "Branchy" in msg and "\n" not in msg
    assert "remove data-dependent Python control flow from forward()" in msg
    assert "legacy exporter: TracerWarning" in msg and "test_torch_tracing.py" in msg  # where the branch is
    assert "dynamo exporter: GuardOnDataDependentSymNode" in msg
    assert e.value.exit_code == UnsupportedModelError.exit_code
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no partial FX graphs, no torch log lines, no C++ IR dump

    # the failure the refusal prevents: without the guard the legacy trace silently keeps one branch
    monkeypatch.setattr(export, "record_tracer_warnings", contextlib.nullcontext)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = from_torch(net, (1, 4))
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32) * 3
    ref = _torch_out(torch, net, x)
    got = np.concatenate([run(graph, x[i:i + 1])[graph.outputs[0]] for i in range(len(x))])
    assert not np.allclose(got, ref, atol=1e-4)


def test_each_exporter_refuses_the_branch_on_its_own(torch):
    from snnc.frontends.torch import export
    from snnc.frontends.torch.tracing import TraceMayNotGeneralise, data_dependent, quiet_torch
    net, x = _branchy(torch).eval(), torch.rand(1, 4)
    with pytest.raises(TraceMayNotGeneralise, match="Python boolean"):
        export._export_legacy(net, x)
    with quiet_torch(), pytest.raises(Exception) as e:
        export._export_dynamo(net, x)
    assert data_dependent(e.value)


def test_shape_read_as_python_int_exports_correctly_through_torch_export(torch, rng):
    """int(x.shape[1]) makes the tracer warn, but a shape is static here: torch.export gets it right."""
    from snnc.compiler.execute import run
    from snnc.frontends.torch import from_torch
    nn = torch.nn

    class Regroup(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(2, 4, 3, padding=1), nn.Linear(4 * 5 * 5, 3)

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return self.fc(y.reshape(y.shape[0], int(y.shape[1]) * int(y.shape[2]) * int(y.shape[3])))

    torch.manual_seed(0)
    net = Regroup()
    graph = from_torch(net, (1, 2, 5, 5))
    assert graph.meta["torch"]["exporter"] == "dynamo"
    x = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    assert_network_close(graph, x, run(graph, x)[graph.outputs[0]], _torch_out(torch, net, x))


def test_ordinary_models_export_with_the_legacy_tracer(torch, tmp_path):
    """No false alarm: the frontend's own nets and torchvision resnet18 trace without a TracerWarning."""
    import torchvision
    from snnc.frontends.torch import from_torch
    from snnc.frontends.torch.spec import class_from_file
    (tmp_path / "net.py").write_text(NET_PY)
    cases = [(class_from_file(tmp_path / "net.py", "Net"), (1, 1, 8, 8)),
             (torchvision.models.resnet18(num_classes=10), (1, 3, 32, 32))]
    for net, shape in cases:
        assert from_torch(net, shape).meta["torch"]["exporter"] == "legacy", type(net).__name__


def test_wrong_input_shape_is_one_line_quoting_torch(torch):
    import torchvision
    from snnc.frontends.torch import from_torch
    cases = [((1, 1, 32, 32), r"expected input\[1, 1, 32, 32\] to have 3 channels, but got 1"),
             ((1, 3, 8, 8), r"Output size is too small")]  # alexnet needs >= 63x63
    model = torchvision.models.alexnet(num_classes=10)
    for shape, torch_says in cases:
        with pytest.raises(DataError, match=re.escape(f"torchvision:alexnet fails on input shape {shape}")) as e:
            from_torch(model, shape, name="torchvision:alexnet")
        assert "\n" not in str(e.value) and "--input-shape" in str(e.value)
        assert re.search(torch_says, str(e.value)), str(e.value)


def test_cli_wrong_input_shape_exits_with_one_error_line(torch, tmp_path, monkeypatch, capfd):
    from snnc.cli import main
    (tmp_path / "net.py").write_text(NET_PY)  # conv expects 1 channel
    np.save(tmp_path / "calib.npy", np.zeros((4, 3, 8, 8), np.float32))
    monkeypatch.chdir(tmp_path)
    rc = main(["compile", "net.py:Net", "--input-shape", "1,3,8,8", "--calib", "calib.npy"])
    out, err = capfd.readouterr()
    assert rc == DataError.exit_code
    errors = [ln for ln in err.splitlines() if not ln.startswith("warning:")]  # "no --weights" warning
    assert len(errors) == 1 and errors[0].startswith("error: net.py:Net fails on input shape (1, 3, 8, 8)")
    assert "expected input[1, 3, 8, 8] to have 1 channels" in errors[0]
    assert out == "" and not (tmp_path / "net_Net.snnc").exists()
