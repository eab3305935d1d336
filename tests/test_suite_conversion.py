"""Conversion of the trained suite networks (examples/suite): each architecture feature on trained weights.

Per network a short cltb calibration (20 batches of 50 on 500 validation
images: exactness of the conversion does not depend on how long calibration
ran) and two oracles: the folded unit-threshold network under the ANN executor
equals the clip-ANN computed from the *unfolded* source graph with the
recorded thresholds (``snnc.compiler.clip_ann``), and the feature the network
is in the suite for is present and handled: residual adds feeding neurons
(resnet), depthwise convolutions, ReLU6 caps and adds after linear
bottlenecks no neuron reads (mobilenet), concatenation (densenet), max pools
(vgg) and a readout after global average pooling (all but vgg).

Tolerance: the folded graph computes each synaptic layer with weights
rescaled by a_in / a_out, so each output differs from the unfolded one by a
few float32 roundings of every term it sums: per layer at most
~ 2 k eps32 sum|terms| (k: fan-in), accumulated over the L synaptic layers;
bounded here by 2 L k_max eps32 times the output scale.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EPS32 = float(np.finfo(np.float32).eps)
NAMES = ("vgg", "resnet", "mobilenet", "densenet")


def suite():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.suite")


def compiled(name):
    import snnc
    s = suite()
    x_cal, _ = s.data("valid", 500)
    return snnc.compile(str(s.onnx_path(name)), x_cal, method="cltb", iters=20, batch_size=50)


def bound(graph) -> float:
    syn = [n for n in graph.nodes if n.type in ("Conv2d", "Linear")]
    fan_in = max(int(np.prod(n.op.weight.shape[1:])) for n in syn)
    return 2 * len(syn) * fan_in * EPS32


def check_feature(name, art):
    snn, types = art.snn, {n.type for n in art.snn.nodes}
    readers = {n.name: [m for m in snn.nodes if n.name in m.inputs] for n in snn.nodes}
    readout = snn.node(snn.outputs[0])
    if name == "vgg":
        assert "MaxPool2d" in types
    else:
        assert readout.type == "Linear" and snn.node(readout.inputs[0]).type in ("GlobalAvgPool2d", "Flatten")
    adds = [n for n in snn.nodes if n.type == "Add"]
    if name == "resnet":  # every residual sum is clipped by a neuron
        assert adds and all(r.type == "IFNeuron" for a in adds for r in readers[a.name])
    if name == "mobilenet":
        assert any(n.type == "Conv2d" and n.op.groups > 1 and n.op.groups == n.shape[0] for n in snn.nodes)
        assert adds and any(all(r.type != "IFNeuron" for r in readers[a.name]) for a in adds)  # linear bottlenecks
        caps = [s["threshold"]["max"] for s in art.meta["calibration"]["layers"].values()]
        assert max(caps) <= 6.0  # ReLU6 = Clip(0, 6): the threshold never exceeds the cap
    if name == "densenet":
        assert "Concat" in types


@pytest.mark.parametrize("name", NAMES)
def test_trained_network_folds_exactly_onto_its_clip_ann(name):
    from snnc.compiler.clip_ann import clip_ann_outputs
    from snnc.compiler.execute import run
    art = compiled(name)
    check_feature(name, art)
    x, _ = suite().data("test", 64)
    ref = clip_ann_outputs(art, x)
    out = run(art.snn, x)[art.snn.outputs[0]]
    assert np.abs(out - ref).max() <= bound(art.snn) * np.abs(ref).max()
    assert np.mean(out.argmax(1) == ref.argmax(1)) >= 1 - 1 / 64  # at most one near-tie flips
