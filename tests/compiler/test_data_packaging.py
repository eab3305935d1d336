"""example_model_path() in a normal (non-editable) install: the wheel ships snnc/examples/mnist_cnn.onnx."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".venv", ".git", "tests", "out", "build", "dist", "*.egg-info", "__pycache__",
                              "benchmarks", "docs", ".ci", "*.pyc", ".pytest_cache", ".hypothesis")


@pytest.mark.slow
def test_wheel_ships_the_example_model(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    if not (src / "README.md").exists():  # pyproject names it; the wheel build needs one
        (src / "README.md").write_text("snnc\n")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("snnc-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        assert "snnc/examples/mnist_cnn.onnx" in z.namelist()
        z.extractall(site)  # a pure-Python wheel installs by unpacking
    code = "from snnc.compiler.data import example_model_path as p; print(p())"
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    found = Path(out.stdout.strip())
    assert found == site / "snnc" / "examples" / "mnist_cnn.onnx"
    assert found.read_bytes() == (ROOT / "examples" / "mnist_cnn.onnx").read_bytes()
