"""Shared fixtures. Optional stacks (Lava, torch) skip locally when missing but
fail when SNNC_REQUIRE_LAVA=1 / SNNC_REQUIRE_TORCH=1 (CI sets both)."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest


def _require(module: str, env: str):
    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - any import failure means the stack is unusable
        if os.environ.get(env) == "1":
            pytest.fail(f"{module} is required ({env}=1) but does not import: {e}")
        pytest.skip(f"{module} not available: {e}")


@pytest.fixture
def lava():
    """The lava package; a test using it fails instead of skipping under SNNC_REQUIRE_LAVA=1."""
    return _require("lava.magma.core.run_configs", "SNNC_REQUIRE_LAVA")


@pytest.fixture
def torch():
    return _require("torch", "SNNC_REQUIRE_TORCH")


@pytest.fixture
def ort():
    return _require("onnxruntime", "SNNC_REQUIRE_TORCH")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
