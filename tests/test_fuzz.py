"""A short seeded subset of snnc's own fuzz suite (tests/fuzz; ``make fuzz`` runs the long budget):
two cases per family through the real CLI, each checked against the contract in fuzz/runner.py."""
from __future__ import annotations

import pytest

from .fuzz.cases import FAMILIES, generate
from .fuzz.runner import run_case
from .fuzz.session import bases

PER_FAMILY = 2
SEED = 12


@pytest.fixture(scope="module")
def cases(require):
    require("onnxruntime")   # the invalid-model oracle
    return generate(SEED, PER_FAMILY * len(FAMILIES), bases())


def test_base_models_are_valid(require):
    """The oracle's premise: both starting points pass onnx's full checker and load in onnxruntime."""
    require("onnxruntime")
    from .fuzz.runner import model_is_invalid
    for name, (data, _) in bases().models.items():
        assert model_is_invalid(data) is None, name


@pytest.mark.timeout(600)
@pytest.mark.parametrize("i", range(PER_FAMILY * len(FAMILIES)))
def test_fuzz_case_keeps_the_contract(cases, i):
    o = run_case(cases[i], timeout=120)
    assert o.ok, f"{o.case.family}: {o.case.name}: exit {o.code}: {'; '.join(o.violations)}"
