"""Bounded cost (issue 12): inspect, compile and estimate are linear in the graph's nodes and edges.

The three pathological graphs of tests/pathological.py (and a 3,000-pool structural chain, which
once exceeded Python's recursion limit) inspect in seconds and compile in well under a minute on an
idle 2-core machine. No timing is asserted (the machine may be shared): a generous pytest-timeout
catches a hang or a quadratic regression, which at these sizes costs hours, not seconds."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from snnc.cli import main

from ..pathological import GRAPHS


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pathological")
    out = {}
    for name, (make, shape) in GRAPHS.items():
        onnx.save(make(), str(d / f"{name}.onnx"))
        np.save(d / f"{name}.npy", np.random.default_rng(0).random((8,) + shape).astype(np.float32))
        out[name] = d / name
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_inspect_is_linear(files, name, capsys):
    assert main(["inspect", f"{files[name]}.onnx", "--json"]) == 0
    nodes = json.loads(capsys.readouterr().out)["nodes"]
    assert len(nodes) > 3000


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_compile_and_estimate_are_linear(files, name, capsys):
    base = files[name]
    assert main(["compile", f"{base}.onnx", "--calib", f"{base}.npy", "--iters", "1", "--json",
                 "-o", f"{base}.snnc"]) == 0
    capsys.readouterr()
    assert main(["estimate", f"{base}.snnc", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["resources"]["cores"] > 0
