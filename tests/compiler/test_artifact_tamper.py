"""Truncated, bit-flipped and edited ``.snnc`` artifacts are refused with one clear ModelLoadError.

The artifact is a real one (examples/mnist_cnn.onnx compiled on MNIST). A
damaged file either fails to load with ModelLoadError or, when the damage hit
bytes no reader uses (a zip header's date field), loads into the very same
artifact: never a traceback, never a silently different network.
"""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import snnc
from snnc.compiler.artifact import Artifact, load
from snnc.cli import main
from snnc.compiler.data import example_model_path
from snnc.compiler.errors import ModelLoadError


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("art") / "mnist.snnc"
    snnc.compile(str(example_model_path()), "mnist", iters=2, batch_size=10).save(path)
    return path


def members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(parts: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def edit_graph(data: bytes, which: str, change) -> bytes:
    """The artifact with ``change(graph_json_dict, arrays_dict)`` applied to its ``which`` graph."""
    outer = members(data)
    inner = members(outer[f"{which}.snncg"])
    doc = json.loads(inner["graph.json"])
    change(doc, inner)
    inner["graph.json"] = json.dumps(doc).encode()
    outer[f"{which}.snncg"] = rezip(inner)
    return rezip(outer)


def edit_meta(data: bytes, change) -> bytes:
    outer = members(data)
    doc = json.loads(outer["artifact.json"])
    change(doc)
    outer["artifact.json"] = json.dumps(doc).encode()
    return rezip(outer)


def refused(tmp_path, data: bytes, match=None) -> str:
    p = tmp_path / "bad.snnc"
    p.write_bytes(data)
    with pytest.raises(ModelLoadError, match=match) as e:
        load(p)
    return str(e.value)


def test_truncated_anywhere(artifact, tmp_path):
    data = artifact.read_bytes()
    rng = np.random.default_rng(0)
    for n in sorted({0, 1, 21, len(data) // 2, len(data) - 1, *rng.integers(1, len(data), 8).tolist()}):
        assert "bad.snnc" in refused(tmp_path, data[:n])


def test_bit_flips_are_refused_or_harmless(artifact, tmp_path):
    data = artifact.read_bytes()
    original = load(artifact).to_bytes()
    rng = np.random.default_rng(1)
    p = tmp_path / "flip.snnc"
    outcomes = []
    for pos in rng.integers(0, len(data), 40):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        p.write_bytes(bytes(flipped))
        try:
            same = load(p).to_bytes() == original
        except ModelLoadError:
            outcomes.append("refused")
            continue
        assert same, f"a bit flip at byte {pos} loaded as a different artifact"
        outcomes.append("harmless")
    assert outcomes.count("refused") >= 30  # almost every byte is covered by a CRC or a structure check


def _first(doc, op):
    return next(n for n in doc["nodes"] if n["op"] == op)


def _wrong_shape_weight(doc, inner):
    n = _first(doc, "Conv2d")
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 3), np.float32))
    inner[f"arrays/{n['name']}/weight.npy"] = buf.getvalue()


def _nan_weight(doc, inner):
    n = _first(doc, "Linear")
    buf = io.BytesIO()
    w = np.load(io.BytesIO(inner[f"arrays/{n['name']}/weight.npy"]))
    w[0, 0] = np.nan
    np.save(buf, w)
    inner[f"arrays/{n['name']}/weight.npy"] = buf.getvalue()


GRAPH_EDITS = {
    "version": (lambda d, i: d.update(version=99), "format version 99"),
    "unknown_op": (lambda d, i: _first(d, "Conv2d").update(op="Conv9d"), "unknown op 'Conv9d'"),
    "stored_shape": (lambda d, i: _first(d, "Conv2d").update(shape=[1, 2, 3]), "stored shape"),
    "bad_attribute": (lambda d, i: _first(d, "Conv2d")["attrs"].update(stride="fast"), "corrupt or was edited"),
    "wrong_array_shape": (_wrong_shape_weight, "corrupt or was edited|inconsistent"),
    "missing_array": (lambda d, i: i.pop(f"arrays/{_first(d, 'Linear')['name']}/weight.npy"), "corrupt or was edited"),
    "nan_weight": (_nan_weight, "non-finite"),
    "dangling_input": (lambda d, i: _first(d, "Linear").update(inputs=["nowhere"]), "inconsistent|corrupt"),
    "nodes_not_a_list": (lambda d, i: d.update(nodes=7), "corrupt or was edited"),
}


@pytest.mark.parametrize("which", ["snn", "ann"])
@pytest.mark.parametrize("edit", sorted(GRAPH_EDITS))
def test_edited_graph_is_refused(artifact, tmp_path, edit, which):
    change, match = GRAPH_EDITS[edit]
    msg = refused(tmp_path, edit_graph(artifact.read_bytes(), which, change), match)
    assert f":{which}" in msg or f"{ {'snn': 'spiking', 'ann': 'ANN'}[which]} node" in msg


META_EDITS = {
    "version": (lambda d: d.update(version=2), "artifact format version 2"),
    "format": (lambda d: d.update(format="zip"), "format 'zip'"),
    "readout": (lambda d: d.update(readout={"mode": "auto", "t0": -5}), "readout"),
    "readout_mode": (lambda d: d.update(readout={"mode": "later"}), "readout"),
    "target_type": (lambda d: d.update(target=3), "'target' is a int"),
    "calibration_layers": (lambda d: d["calibration"].update(layers=[1, 2]), "calibration.layers"),
    "expected_rate": (lambda d: next(iter(d["calibration"]["layers"].values())).update(expected_rate="x"),
                      "expected_rate 'x'"),
    "not_a_dict": (lambda d: d.clear() or d.update({"x": 1}), "format None"),
}


@pytest.mark.parametrize("edit", sorted(META_EDITS))
def test_edited_meta_is_refused(artifact, tmp_path, edit):
    change, match = META_EDITS[edit]
    refused(tmp_path, edit_meta(artifact.read_bytes(), change), match)


def test_ann_in_place_of_the_spiking_graph_is_refused(artifact, tmp_path):
    outer = members(artifact.read_bytes())
    outer["snn.snncg"] = outer["ann.snncg"]
    refused(tmp_path, rezip(outer), "not a valid IF network")


def test_cli_prints_one_error_line(artifact, tmp_path, capsys):
    p = tmp_path / "cut.snnc"
    p.write_bytes(artifact.read_bytes()[:1000])
    assert main(["estimate", str(p)]) == ModelLoadError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_valid_artifact_round_trips(artifact, tmp_path):
    a = load(artifact)
    assert isinstance(a, Artifact)
    p = a.save(tmp_path / "again.snnc")
    assert p.read_bytes() == artifact.read_bytes()
