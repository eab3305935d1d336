"""`snnc simulate / run --backend torch`: the numpy backend's report, and the error paths."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from snnc.compiler.artifact import Artifact
from snnc.cli import main
from snnc.compiler.execute import predict
from snnc.compiler.ir import Graph, IFNeuron, ReLU, Resize, ops

from .test_numpy_sim import dyadic_input, feature_graph


@pytest.fixture(autouse=True)
def _torch(torch):
    return torch


def _unit_thresholds(g: Graph) -> Graph:
    def unit(op):
        return IFNeuron(np.ones_like(op.threshold), np.full_like(op.threshold, 0.5), reset=op.reset)
    return g.rebuild([(n.name, unit(n.op) if isinstance(n.op, IFNeuron) else n.op, n.inputs) for n in g.nodes])


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    snn = _unit_thresholds(feature_graph(rng))   # an artifact's spiking graph is folded (artifact.check_snn)
    ann = snn.rebuild([(n.name, ReLU() if isinstance(n.op, IFNeuron) else n.op, n.inputs) for n in snn.nodes])
    art = Artifact(snn, ann, {"readout": {"mode": "fixed", "delay": 2}})
    x = dyadic_input(rng, 24)
    np.savez(tmp_path / "d.npz", x=x, y=predict(snn, x).argmax(1))
    return str(art.save(tmp_path / "m.snnc")), str(tmp_path / "d.npz")


@pytest.mark.parametrize("command", ["simulate", "run"])
def test_torch_report_equals_numpy_report(files, tmp_path, capsys, command):
    model, data = files
    common = [command, model, "--data", data, "--T", "4,16", "--json"]
    acts = {}
    for backend in ("numpy", "torch"):
        acts[backend] = tmp_path / f"{backend}.json"
        extra = ["--threads", "1", "--dtype", "float64"] if backend == "torch" else []
        assert main(common + ["--backend", backend, "--activity-out", str(acts[backend])] + extra) == 0
        out = json.loads(capsys.readouterr().out)
        if backend == "numpy":
            ref = out
    assert out["backend"] == "torch" and out["torch"] == {"device": "cpu", "dtype": "float64", "threads": 1}
    assert out["sweep"] == ref["sweep"] and out["layers"] == ref["layers"]
    assert out["first_layer_macs_per_step"] == ref["first_layer_macs_per_step"]
    a, b = json.loads(acts["numpy"].read_text()), json.loads(acts["torch"].read_text())
    assert b["source"] == "torch" and b["layers"] == a["layers"] and b["accuracy"] == a["accuracy"]


def test_text_report_names_the_backend(files, capsys):
    model, data = files
    assert main(["simulate", model, "--data", data, "--T", "8", "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert "backend: torch on cpu, float32" in out and "accuracy" in out


def test_cuda_absent_is_a_clear_error(files, capsys, torch):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    model, data = files
    assert main(["run", model, "--data", data, "--backend", "torch", "--device", "cuda"]) == 7
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "--device cpu" in err


@pytest.mark.parametrize("argv,msg", [(["--dtype", "float64"], "--dtype needs --backend torch"),
                                      (["--device", "cpu", "--threads", "2"], "--device, --threads need"),
                                      (["--backend", "torch", "--threads", "0"], "--threads must be"),
                                      (["--backend", "torch", "--device", "tpu"], "--device must be")])
def test_bad_torch_options(files, capsys, argv, msg):
    model, data = files
    assert main(["simulate", model, "--data", data, "--T", "4"] + argv) == 2
    assert msg in capsys.readouterr().err


def test_unsupported_op_is_named(files, tmp_path, capsys, monkeypatch):
    from snnc.runtime.torch_sim import lowering
    monkeypatch.delitem(lowering.LOWERING, ops.Resize)
    rng = np.random.default_rng(1)
    g = _unit_thresholds(feature_graph(rng))
    spec = [(n.name, n.op, n.inputs) for n in g.nodes]
    spec.insert(2, ("up", Resize((8, 8), "nearest"), ["c1"]))     # 8x8 -> 8x8 between c1 and p1
    spec[3] = ("p1", spec[3][1], ["up"])
    g2 = Graph.build(spec, g.outputs)
    path = Artifact(g2, g2, {}).save(tmp_path / "r.snnc")
    assert main(["simulate", str(path), "--data", files[1], "--T", "4", "--backend", "torch"]) == 7
    err = capsys.readouterr().err
    assert "node 'up'" in err and "op Resize" in err and "torch" in err


def test_torch_missing_names_the_extra(files, capsys, monkeypatch):
    for mod in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "snnc.runtime.torch_sim"))]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "torch", None)    # `import torch` raises ModuleNotFoundError
    model, data = files
    assert main(["run", model, "--data", data, "--backend", "torch"]) == 2
    assert "pip install 'snnc[torch]'" in capsys.readouterr().err
