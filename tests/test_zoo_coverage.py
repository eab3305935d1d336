"""benchmarks/zoo_coverage.py helpers: the metrics against brute force, the table's shape."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "zoo_coverage.py"


def load():
    spec = importlib.util.spec_from_file_location("zoo_coverage", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def brute_cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cosines_match_brute_force(rng):
    zoo = load()
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    assert np.isclose(zoo.cosine(a, b), np.mean([brute_cos(a[i], b[i]) for i in range(5)]))
    pairs = [brute_cos(a[i], a[j]) for i in range(5) for j in range(5) if i != j]
    assert np.isclose(zoo.input_cosine(a), np.mean(pairs))
    assert zoo.input_cosine(a[:1]) is None
    const = np.tile(rng.standard_normal(7), (4, 1))
    assert np.isclose(zoo.input_cosine(const), 1.0)


def test_markdown_rows_have_header_width():
    zoo = load()
    args = zoo.parse_args(["--method", "percentile"])
    ok = {"model": "m1", "status": "ok", "input": "3x32x32", "ops": 5, "macs": 2e6, "neurons": 10,
          "sop_T64": 3e6, "cos_T64": 0.5, "cos_T256": 0.995, "cos_clip": 0.999, "cos_snn_clip": 0.996,
          "cos_inputs": 0.4, "top1": 1.0, "seconds": 1.0}
    bad = {"model": "m2", "status": "unsupported", "reason": "uses GELU"}
    for compare in [("", {}), ("max", {"m1": {"cos_T256": 0.9}})]:
        text = zoo.markdown([ok, bad], args, ["--method", "percentile"], compare)
        table = [ln for ln in text.splitlines() if ln.startswith("|")]
        widths = {ln.count("|") for ln in table}
        assert len(widths) == 1, table
        assert "1 of 2 models convert; 1 reach cosine >= 0.99" in text
        assert "`percentile p=99.99`" in text


def test_notes_after_marker_are_kept(tmp_path):
    zoo = load()
    out = tmp_path / "zoo.md"
    assert zoo.kept_notes(out) == ""
    out.write_text("old table\n" + zoo.NOTES_MARKER + "\n## Diagnosis\ntext\n")
    assert zoo.kept_notes(out) == "\n" + zoo.NOTES_MARKER + "\n## Diagnosis\ntext\n"
    out.write_text("old table without notes\n")
    assert zoo.kept_notes(out) == ""
