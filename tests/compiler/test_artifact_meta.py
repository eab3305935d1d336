"""The artifact's metadata as typed records (compiler/artifact_meta.py): JSON stays the file format, and reading
then writing a meta document gives back the same document, for artifacts written before the types existed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.artifact import Artifact, load
from snnc.compiler.artifact_meta import ArtifactMeta, Calibration, LayerCalibration, Neurons, PassRecord, Readout, \
    Source
from snnc.compiler.records import Record

# artifact.json of the example model compiled by snnc at main 0a83a96 (before these types): the default IF
# compile and a sigma-delta one with a fixed delay and the percentile method (source path made relative)
OLD = json.loads((Path(__file__).parent / "artifact_meta_main.json").read_text())


@pytest.mark.parametrize("kind", sorted(OLD))
def test_meta_written_before_the_types_round_trips_exactly(kind):
    doc = {k: v for k, v in OLD[kind].items() if k not in ("format", "version")}
    info = ArtifactMeta.from_json(doc)
    assert info.to_json() == doc
    assert json.dumps(info.to_json(), sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert not info.extra and not info.calibration.extra and not info.options.extra   # every key is typed
    assert isinstance(info.readout, Readout) and isinstance(info.source, Source)
    assert all(isinstance(e, PassRecord) and e.name for e in info.pass_log)
    assert all(isinstance(r, LayerCalibration) for r in info.calibration.layers.values())
    assert info.calibration.thresholds() == {k: r["thresholds"] for k, r in doc["calibration"]["layers"].items()}
    assert info.neuron_kind == kind and info.is_sigma_delta == (kind == "sigma-delta")


def test_typed_fields_read_the_json():
    doc = OLD["sigma-delta"]
    info = ArtifactMeta.from_json(doc)
    assert info.readout == Readout("fixed", delay=3) and info.options.delay == 3
    assert info.neurons.payload_bits == doc["neurons"]["payload_bits"] == 9
    assert info.calibration.t0 == doc["calibration"]["t0"]
    assert info.target == "loihi2" and info.deployment == doc["deployment"]


def test_unknown_keys_explicit_nulls_and_plain_entries_survive():
    doc = {"target": "loihi2", "finetune": {"method": "idsnn", "T": 4}, "source": {"path": None, "sha256": None},
           "readout": {"mode": "auto", "t0": 1.5, "note": "x"}, "pass_log": [{"pass": "fold", "changes": []}, "free text"],
           "calibration": {"check": {"ann_accuracy": None}, "layers": {"n": {"thresholds": [1.0], "future": 2}}}}
    info = ArtifactMeta.from_json(doc)
    assert info.to_json() == doc
    assert info.extra == {"finetune": {"method": "idsnn", "T": 4}} and info.readout.extra == {"note": "x"}
    assert info.pass_log[1] == "free text" and info.calibration.layers["n"].extra == {"future": 2}


def test_a_built_record_writes_what_it_holds():
    meta = ArtifactMeta(target="loihi2", source=Source(), readout=Readout("auto", t0=2.0), neurons=Neurons("if", 1),
                        pass_log=[PassRecord("fold", ["x"])],
                        calibration=Calibration(layers={"n": LayerCalibration(thresholds=[1.0], expected_rate=0.5)}))
    assert meta.to_json() == {"target": "loihi2", "source": {"path": None, "sha256": None},
                              "readout": {"mode": "auto", "t0": 2.0}, "neurons": {"kind": "if", "spike_bits": 1},
                              "pass_log": [{"pass": "fold", "changes": ["x"]}],
                              "calibration": {"layers": {"n": {"thresholds": [1.0], "expected_rate": 0.5}}}}
    assert ArtifactMeta.from_json(meta.to_json()) == meta
    assert meta.replace(target=None).to_json().get("target", "gone") == "gone"
    assert Record.from_json({"a": 1}).to_json() == {"a": 1}


def test_artifact_info_and_a_saved_artifact(tmp_path):
    from snnc.compiler.ir import Graph, IFNeuron, Input, Linear
    g = Graph.build([("x", Input((2,)), []), ("fc", Linear(np.eye(2, dtype=np.float32), None), ["x"]),
                     ("n", IFNeuron(np.ones(2, np.float32), np.full(2, 0.5, np.float32)), ["fc"]),
                     ("out", Linear(np.eye(2, dtype=np.float32), None), ["n"])], ["out"])
    meta = {k: v for k, v in OLD["if"].items() if k not in ("format", "version", "calibration", "deployment",
                                                                "resources", "pool_modes")}
    back = load(Artifact(g, g, meta).save(tmp_path / "m.snnc"))
    assert back.meta == meta and back.info.to_json() == meta and back.info.readout.mode == "auto"
