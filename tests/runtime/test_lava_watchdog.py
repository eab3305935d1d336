"""The watchdog stops hanging and crashing Lava runs with all their processes (no orphans)."""
import os
import signal
import time

import numpy as np
import pytest

from snnc.compiler.errors import SimulationError


def _start_lava():
    """A real Lava network started without blocking: its processes are alive when this returns."""
    from lava.magma.core.run_conditions import RunContinuous
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    src = RingBuffer(data=np.ones((4, 8)))
    dense = Dense(weights=np.eye(4))
    lif = LIF(shape=(4,), vth=1.0, du=1.0, dv=0.0)
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.run(condition=RunContinuous(), run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
    return lif


def _hang():
    _start_lava()
    time.sleep(3600)


def _crash():
    _start_lava()
    time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGKILL)  # like a segfault or the OOM killer: no result, children orphaned


def _alive(pid):
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _children():
    import psutil
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.parametrize("fn, message", [(_hang, "did not finish"), (_crash, "crashed")])
def test_hang_or_crash_is_stopped_without_orphans(lava, fn, message, monkeypatch):
    from snnc.runtime.lava import watchdog
    seen = {}
    real = watchdog._kill_all

    def spy(worker, procs):
        seen.update(procs)
        seen[worker.pid] = worker
        real(worker, procs)

    monkeypatch.setattr(watchdog, "_kill_all", spy)
    before = _children()
    with pytest.raises(SimulationError, match=message):
        watchdog.run_isolated(fn, (), timeout=6)
    assert len(seen) >= 3, "the worker and the Lava processes it started were observed"
    time.sleep(0.5)
    assert [pid for pid in seen if _alive(pid)] == []
    assert _children() == before


def test_successful_run_counts_processes_and_leaves_none(lava, rng):
    from snnc.runtime.lava.runner import run_lava
    from .lava_nets import residual_pool_net
    before = _children()
    res = run_lava(residual_pool_net(rng), rng.random((2, 1, 8, 8)), 4, timeout=120)
    assert res.processes > 10  # one OS process per Lava process, plus Lava's runtime
    assert _children() == before
