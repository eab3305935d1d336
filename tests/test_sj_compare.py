"""benchmarks/sj_compare.py: argument checks before any work, the first-T rule, the table."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.sj_compare")


def test_first_reaching_is_the_smallest_T_at_or_above_target():
    first = load().first_reaching
    assert first({4: 0.5, 8: 0.97, 16: 0.99, 32: 0.98}, 0.98) == 16
    assert first({4: 0.5, 8: 0.97}, 0.98) is None
    assert first({8: 0.98, 4: 0.99}, 0.98) == 4  # unordered input


def test_missing_sj_venv_and_unknown_model_fail_before_any_work(tmp_path):
    m = load()
    with pytest.raises(SystemExit, match="--sj-python .*make bench-sj"):
        m.main(["--models", "vgg", "--sj-python", str(tmp_path / "nope" / "python")])
    with pytest.raises(SystemExit, match="unknown suite network.*alexnet"):
        m.main(["--models", "vgg,alexnet"])


def test_table_has_a_row_per_converter_and_names_what_cannot_convert():
    m = load()
    acc = {4: 0.9, 8: 0.99}
    result = {"T": [4, 8], "models": {"mobilenet": {
        "ann_acc": 0.99, "snnc": {"method": "cltb", "seconds": 1.0, "calib_seconds": 0.8, "clip_acc": 0.99, "clip_agree": 1.0,
                                  "acc": {**acc, 16: 0.99}, "first_T": 8},
        "sj max": {"error": "not convertible: ReLU6 left analog", "seconds": 0.5},
        "sj robust": {"acc": {"4": 0.5, "8": 0.988}, "seconds": 0.6, "mode": "99.9%"}}}}
    lines = m.table(result).splitlines()
    assert len(lines) == 2 + 3
    assert "snnc default (cltb) | 0.8 / 1.0 |" in lines[2] and "| 90.0 | 99.0 | 8 |" in lines[2]
    assert "not convertible: ReLU6" in lines[3]
    assert "SJ robust (99.9%)" in lines[4] and lines[4].endswith("| 50.0 | 98.8 | 8 |")


def test_first_reaching_is_exact_at_the_margin_despite_float_rounding():
    m = load()
    assert m.first_reaching({16: 0.985, 32: 0.986}, 0.989 - m.MARGIN) == 32
    assert m.first_reaching({16: 0.985, 32: 0.986}, 0.990 - m.MARGIN) is None


def test_target_lines_name_the_missed_T_and_the_gap():
    m = load()
    result = {"models": {
        "densenet": {"ann_acc": 0.990, "snnc": {"acc": {4: 0.5, 8: 0.98, 32: 0.986, 128: 0.988}},
                     "sj max": {"acc": {"4": 0.1, "8": 0.4, "32": 0.93, "128": 0.990}},
                     "sj robust": {"acc": {"4": 0.2, "8": 0.3, "32": 0.98, "128": 0.984}}},
        "mobilenet": {"ann_acc": 0.986, "snnc": {"acc": {32: 0.988}},
                      "sj max": {"error": "not convertible"}, "sj robust": {"error": "not convertible"}}}}
    dense, mobile = m.target_lines(result)
    assert "T=32 98.6 vs ANN-0.3 = 98.7: missed by 0.1 point" in dense
    assert dense.endswith("missed at T=128 98.8 < 99.0")
    assert "T=32 98.8 vs ANN-0.3 = 98.3: met" in mobile and "cannot convert" in mobile
