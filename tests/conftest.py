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
def torch_one_thread(torch):
    """torch with one thread for the test (results do not depend on it, and OpenMP threads on a loaded
    machine make small elementwise ops 10-100x slower); skips without torch, fails in CI."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(old)


@pytest.fixture
def ort():
    return _require("onnxruntime", "SNNC_REQUIRE_TORCH")


@pytest.fixture(scope="session")
def require():
    """``require(module, env="SNNC_REQUIRE_TORCH")``: import, skip when missing, fail when ``env`` is 1.

    Session-scoped, so module-scoped fixtures (model exports) can use it."""
    return lambda module, env="SNNC_REQUIRE_TORCH": _require(module, env)


@pytest.fixture(scope="session")
def ort_values():
    """``ort_values(path, x, names)``: onnxruntime's value of every tensor in ``names`` (the oracle).

    Adds the named intermediate tensors as graph outputs, so every node's output
    can be compared, not just the model's."""
    def values(path, x, names):
        import onnx
        ort = _require("onnxruntime", "SNNC_REQUIRE_TORCH")
        m = onnx.load(str(path))
        have = {o.name for o in m.graph.output}
        m.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                              for n in names if n not in have)
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return {o.name: v for o, v in zip(s.get_outputs(), s.run(None, {s.get_inputs()[0].name: x}))}
    return values


@pytest.fixture(scope="session")
def randomise_bn():
    """``randomise_bn(torch, model, seed=1)``: non-trivial BatchNorm2d statistics and affine
    parameters (in place), so that BN folding and conversion errors show on random-weight models."""
    def randomise(torch, model, seed=1):
        g = torch.Generator().manual_seed(seed)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
        return model
    return randomise


@pytest.fixture
def rng():
    return np.random.default_rng(0)
