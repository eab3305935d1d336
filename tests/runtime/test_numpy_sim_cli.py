"""`snnc simulate` end to end on a hand-built artifact and .npz data, plus its error paths."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from snnc.compiler.analysis.activity import Activity
from snnc.compiler.artifact import Artifact
from snnc.cli import main
from snnc.compiler.execute import predict
from snnc.compiler.ir import Conv2d, Flatten, Graph, IFNeuron, Input, Linear, ReLU
from snnc.runtime.numpy_sim import simulate


def _graph(rng, act):
    return Graph.build([
        ("x", Input((1, 8, 8)), []),
        ("c", Conv2d(rng.standard_normal((4, 1, 3, 3)).astype(np.float32) * 0.6, None, padding=(1, 1, 1, 1)), ["x"]),
        ("n", act(4), ["c"]),
        ("f", Flatten(), ["n"]),
        ("out", Linear(rng.standard_normal((3, 256)).astype(np.float32) * 0.2, None), ["f"]),
    ], ["out"])


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    snn = _graph(rng, lambda c: IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32)))
    ann = _graph(np.random.default_rng(0), lambda c: ReLU())
    art = Artifact(snn, ann, {"readout": {"mode": "fixed", "delay": 2},
                              "calibration": {"layers": {"n": {"thresholds": [1.0] * 4}}}})  # = the snn's
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    y = predict(snn, x).argmax(1)          # labels = clip-ANN predictions
    np.savez(tmp_path / "d.npz", x=x, y=y)
    return art.save(tmp_path / "m.snnc"), tmp_path / "d.npz", art, x, y


def test_simulate_cli_json_plot_and_activity(files, tmp_path, capsys):
    model, data, art, x, y = files
    png, act_path = tmp_path / "p.png", tmp_path / "a.json"
    rc = main(["simulate", str(model), "--data", str(data), "--T", "4,16,64", "--n", "30", "--batch-size", "7",
               "--json", "--plot", str(png), "--activity-out", str(act_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    ref = simulate(art, x[:30], T=[4, 16, 64], y=y[:30], show_progress=False)
    assert [r["T"] for r in out["sweep"]] == [4, 16, 64] and out["samples"] == 30
    assert [r["delay"] for r in out["sweep"]] == [2, 2, 2]       # fixed delay: min(D, T - 1)
    assert [r["accuracy"] for r in out["sweep"]] == [ref.accuracy[T] for T in (4, 16, 64)]
    assert out["clip_ann_accuracy"] == 1.0
    assert out["sweep"][-1]["accuracy"] >= 0.8      # rates converge to the clip-ANN
    ann_pred = predict(art.ann, x[:30]).argmax(1)
    assert out["sweep"][1]["agreement"] == float(np.mean(ref.predictions(16) == ann_pred))
    assert out["sweep"][-1]["sop_per_image"] == pytest.approx(ref.activity.sop)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    act = Activity.load(act_path)
    assert act.T == 64 and act.samples == 30 and act.accuracy == ref.accuracy
    assert act.sop == pytest.approx(ref.activity.sop) and act.ann_accuracy == out["ann_accuracy"]


def test_simulate_cli_table(files, capsys):
    model, data, *_ = files
    assert main(["simulate", str(model), "--data", str(data), "--T", "8,32"]) == 0
    text = capsys.readouterr().out
    assert "clip-ANN 100.00%" in text and "SOP/image" in text and "per step (the dense input layer" in text


def test_simulate_cli_errors(files, tmp_path, capsys):
    model, data, art, x, y = files
    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 1, 28, 28), np.float32))
    assert main(["simulate", str(model), "--data", str(tmp_path / "bad.npz")]) == 6
    err = capsys.readouterr().err
    assert "28, 28" in err and "8, 8" in err
    for T in ("0,8", "x", "-4"):
        assert main(["simulate", str(model), "--data", str(data), "--T", T]) == 2
    # an artifact of another format version
    buf = io.BytesIO()
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            data_ = src.read(item)
            if item.filename == "artifact.json":
                doc = json.loads(data_)
                doc["version"] = 99
                data_ = json.dumps(doc).encode()
            dst.writestr(item, data_)
    old = tmp_path / "old.snnc"
    old.write_bytes(buf.getvalue())
    capsys.readouterr()
    assert main(["simulate", str(old), "--data", str(data)]) == 3
    assert "version 99" in capsys.readouterr().err


def test_bad_output_paths_fail_before_any_work(files, tmp_path, capsys, monkeypatch):
    import snnc.runtime.numpy_sim as sim
    model, data, *_ = files
    monkeypatch.setattr(sim, "simulate", lambda *a, **k: pytest.fail("simulated despite a bad output path"))
    for opt in ("--plot", "--activity-out"):
        assert main(["simulate", str(model), "--data", str(data), opt, str(tmp_path / "missing" / "x")]) == 3
        err = capsys.readouterr().err
        assert err.startswith("error: ") and opt in err and "does not exist" in err and "Traceback" not in err


def test_memory_is_checked_before_the_ann_passes(files, capsys, monkeypatch):
    import snnc.compiler.execute as ex
    import snnc.runtime.numpy_sim.plan as plan
    model, data, *_ = files
    monkeypatch.setattr(plan, "available_ram", lambda: 8000)      # the results fit, one sample does not
    monkeypatch.setattr(ex, "predict", lambda *a, **k: pytest.fail("ANN pass before the memory check"))
    assert main(["simulate", str(model), "--data", str(data)]) == 7
    err = capsys.readouterr().err
    assert "even one sample" in err.lower() and "at most 0" not in err
    monkeypatch.undo()
    # --T 8 with a huge --time-chunk is capped at T, not refused
    assert main(["simulate", str(model), "--data", str(data), "--T", "8", "--time-chunk", "100000000"]) == 0
