"""`snnc estimate` refuses a sigma-delta artifact on a profile whose spikes cannot carry its payload."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.artifact import Artifact
from snnc.compiler.compile import neuron_record
from snnc.compiler.errors import HardwareError
from snnc.compiler.ir import Graph, Input, Linear, SigmaDeltaNeuron


def _artifact(bits: int) -> Artifact:
    g = Graph.build([("x", Input((4,)), []), ("l", Linear(np.ones((3, 4), np.float32), None), ["x"]),
                     ("sd", SigmaDeltaNeuron(np.ones(3, np.float32), np.zeros(3, np.float32),
                                             step=np.full(3, 1 / (2 ** bits - 1), np.float32), bits=bits), ["l"]),
                     ("out", Linear(np.ones((2, 3), np.float32), None), ["sd"])], ["out"])
    return Artifact(g, g, {"neurons": neuron_record("sigma-delta", bits), "target": "loihi2"})


@pytest.mark.parametrize("profile", ["loihi", "truenorth"])
def test_profile_without_graded_spikes_refuses_a_sigma_delta_artifact(profile):
    from snnc.compiler.analysis.estimate import estimate
    with pytest.raises(HardwareError, match=f"profile '{profile}' has no graded spikes"):
        estimate(_artifact(8), profile)


def test_payload_wider_than_the_profile_refused():
    from snnc.compiler.analysis.estimate import check_graded_profile
    from snnc.compiler.hardware import load_profile
    loihi2 = load_profile("loihi2")
    check_graded_profile(_artifact(23), loihi2)                  # 24-bit payload: Loihi 2's limit
    with pytest.raises(HardwareError, match="at most 24 bits"):
        check_graded_profile(_artifact(24), loihi2)
