"""Lava failures reach the user as one line: a worker's exception (traceback only in the debug log)
and a missing / broken lava-nc install (reported before any work)."""
import logging
import subprocess
import sys

import numpy as np
import pytest

from snnc.compiler.artifact import Artifact
from snnc.cli import main
from snnc.compiler.errors import SimulationError

from .lava_nets import residual_pool_net


def _fails_deep_inside():
    def inner_helper():
        raise ValueError("bad value\nsecond line of the message")
    inner_helper()


def test_worker_exception_is_one_line_and_the_traceback_is_logged_at_debug(caplog):
    from snnc.runtime.lava.watchdog import run_isolated
    with caplog.at_level(logging.DEBUG, logger="snnc.runtime.lava.watchdog"):
        with pytest.raises(SimulationError) as info:
            run_isolated(_fails_deep_inside, timeout=60)
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    assert "ValueError: bad value" in msg and "second line" not in msg
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "Traceback" in logged and "inner_helper" in logged and "second line" in logged


def test_cli_prints_a_worker_failure_in_one_line(lava, tmp_path, rng, capsys, monkeypatch):
    from snnc.runtime.lava import runner
    g = residual_pool_net(rng)
    model = Artifact(g, g, {"readout": {"mode": "fixed", "delay": 0}}).save(tmp_path / "m.snnc")
    np.savez(tmp_path / "d.npz", x=rng.random((2, 1, 8, 8)).astype(np.float32), y=np.zeros(2, np.int64))

    def broken(*args, **kwargs):
        raise RuntimeError("lava exploded\nwith details")
    monkeypatch.setattr(runner, "simulate_graph", broken)  # the forked worker inherits the patch
    assert main(["run", str(model), "--data", str(tmp_path / "d.npz"), "--backend", "lava", "--T", "2"]) == 7
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "RuntimeError: lava exploded" in err and "with details" not in err


_NO_LAVA = """
import sys
sys.modules["lava"] = None  # as if lava-nc were missing or failed to import (Python 3.11)
from snnc.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_missing_lava_is_reported_at_once_in_one_line(tmp_path):
    # the model file does not exist: the Lava check must come first (no model or data loading)
    argv = ["run", str(tmp_path / "missing.snnc"), "--data", "mnist", "--backend", "lava"]
    p = subprocess.run([sys.executable, "-c", _NO_LAVA, *argv], capture_output=True, text=True, timeout=120)
    assert p.returncode == 7, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "install lava-nc 0.10 on Python 3.10: make setup" in p.stderr and "missing.snnc" not in p.stderr
    # --backend numpy does not need Lava: it gets as far as the missing model
    p = subprocess.run([sys.executable, "-c", _NO_LAVA, *argv[:-1], "numpy"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 3 and "missing.snnc" in p.stderr
