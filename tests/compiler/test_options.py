"""One check per option (compiler/readout.py): ``--T`` lists and ``--delay`` mean the same, and fail with the same
message, on the command line, in ``snnc.compile`` and in every backend's ``run``."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import UsageError
from snnc.compiler.readout import parse_delay, parse_T


@pytest.mark.parametrize("given, Ts", [(8, (8,)), ("8", (8,)), ("32,8, 16,8", (8, 16, 32)), ([4, 2], (2, 4)),
                                        (np.array([3, 1]), (1, 3)), (range(1, 3), (1, 2)), (np.int64(5), (5,))])
def test_parse_T_accepts_ints_sequences_and_comma_lists_sorted_and_unique(given, Ts):
    assert parse_T(given) == Ts


@pytest.mark.parametrize("bad", [0, -1, "", "8,x", "8,0", "2.5", 2.0, True, [], [8, 0], None, [True]])
def test_parse_T_refuses_anything_but_positive_integers(bad):
    with pytest.raises(UsageError, match=r"time steps T \(--T\) must be positive integers"):
        parse_T(bad)


@pytest.mark.parametrize("given, d", [(None, None), ("auto", None), (0, 0), ("3", 3), (" 3 ", 3), (np.int32(2), 2)])
def test_parse_delay(given, d):
    assert parse_delay(given) == d


@pytest.mark.parametrize("bad", [-1, "-1", "soon", "3.0", 3.0, True, "+3", ""])
def test_parse_delay_refuses(bad):
    with pytest.raises(UsageError, match=r"delay \(--delay\) must be 'auto' or a non-negative integer"):
        parse_delay(bad)


def test_library_and_cli_refuse_a_bad_delay_and_T_by_the_one_rule(tmp_path, capsys):
    from snnc.cli import main
    from snnc.compiler.artifact import Artifact
    from snnc.compiler.compile import check_arguments
    from snnc.compiler.ir import Graph, IFNeuron, Input, Linear
    from snnc.runtime.numpy_sim import simulate
    g = Graph.build([("x", Input((2,)), []), ("fc", Linear(np.eye(2, dtype=np.float32), None), ["x"]),
                     ("n", IFNeuron(np.ones(2, np.float32), np.full(2, 0.5, np.float32)), ["fc"]),
                     ("out", Linear(np.eye(2, dtype=np.float32), None), ["n"])], ["out"])
    path = Artifact(g, g, {"readout": {"mode": "fixed", "delay": 0}}).save(tmp_path / "m.snnc")
    x = np.ones((2, 2), np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(2, np.int64))
    for delay, T, library in (("soon", "4", lambda: check_arguments(delay="soon")),
                              ("1", "4,x", lambda: simulate(g, x, T="4,x")),
                              ("-2", "4", lambda: simulate(g, x, T=4, delay="-2"))):
        with pytest.raises(UsageError) as lib:
            library()
        rc = main(["simulate", str(path), "--data", str(tmp_path / "d.npz"), "--T", T, "--delay", delay])
        assert rc == UsageError.exit_code
        assert capsys.readouterr().err.strip() == f"error: {lib.value}"
