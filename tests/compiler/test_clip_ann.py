"""The clip-ANN reference of ``snnc simulate``: from the unfolded source graph, independent of folding."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import snnc
from snnc.compiler.artifact import Artifact
from snnc.compiler.clip_ann import clip_ann_outputs
from snnc.compiler.errors import ModelLoadError
from snnc.compiler.execute import run
from snnc.compiler.ir import Graph

from ..oracles import clip_ann
from .test_compile import ir_model


def test_reference_is_the_source_graph_with_clips_not_the_folded_graph(rng):
    x = rng.standard_normal((40, 2, 6, 6)).astype(np.float32)
    art = snnc.compile(ir_model(rng), x, method="cltb", iters=3, batch_size=10)
    th = {k: v["thresholds"] for k, v in art.meta["calibration"]["layers"].items()}
    ref = clip_ann_outputs(art, x)
    np.testing.assert_array_equal(ref, clip_ann(art.ann, th, x))
    folded = run(art.snn, x)[art.snn.outputs[0]]
    assert np.abs(folded - ref).max() <= 1e-5 * np.abs(ref).max()
    # a folding bug (here: the readout's weights zeroed) changes the folded graph, not the reference
    nodes = [replace(n, op=replace(n.op, weight=np.zeros_like(n.op.weight))) if n.name == art.snn.outputs[0] else n
             for n in art.snn.nodes]
    broken = Artifact(Graph(nodes, art.snn.outputs, art.snn.meta), art.ann, art.meta)
    np.testing.assert_array_equal(clip_ann_outputs(broken, x), ref)
    assert not np.allclose(run(broken.snn, x)[broken.snn.outputs[0]], ref)


def test_thresholds_of_unknown_layers_are_a_clear_error(rng):
    x = rng.standard_normal((40, 2, 6, 6)).astype(np.float32)
    art = snnc.compile(ir_model(rng), x, method="cltb", iters=3, batch_size=10)
    layers = {"ghost": {"thresholds": [1.0]}, **art.meta["calibration"]["layers"]}
    bad = Artifact(art.snn, art.ann, {**art.meta, "calibration": {**art.meta["calibration"], "layers": layers}})
    with pytest.raises(ModelLoadError, match="ghost"):
        clip_ann_outputs(bad, x)


def test_artifact_without_calibration_record_has_no_reference(rng):
    x = rng.standard_normal((40, 2, 6, 6)).astype(np.float32)
    art = snnc.compile(ir_model(rng), x, method="cltb", iters=3, batch_size=10)
    bare = Artifact(art.snn, art.ann, {"readout": art.meta["readout"]})
    with pytest.raises(ModelLoadError, match="no calibration record"):
        clip_ann_outputs(bare, x)
