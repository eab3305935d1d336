"""Run Lava in an isolated worker process, stopped with all its children on a hang or crash.

Lava starts one OS process per Lava process; a hang or a crash can leave them
running after their parent dies. ``run_isolated`` forks a worker that leads a
new process group (``setpgrp``), so the worker and every process Lava starts
from it can be killed together (``killpg``), plus any descendant seen while
polling that left the group. The worker's result comes back through a pipe.
A timeout, a non-zero exit without a result, or an exception in the worker
raises ``SimulationError``; no process of the run survives this function.
The error message is one line naming the exception (the CLI prints it as is);
the worker's traceback is logged at debug level (``snnc --debug`` shows it).
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from snnc.compiler.errors import SimulationError, SnncError

log = logging.getLogger(__name__)


@dataclass
class WorkerInfo:
    seconds: float
    max_processes: int   # the worker plus the most descendants alive at once
    pids: tuple = ()     # every process of the run (worker first), all stopped on return


def _child(fn, args, conn) -> None:
    os.setpgrp()
    # Lava calls mp.set_start_method('fork') when first imported, which fails once a
    # start method is set (a forked child has one): let it set the same method again.
    mp.context._default_context._actual_context = None
    try:
        conn.send(("ok", fn(*args)))
    except SnncError as e:
        conn.send(("snnc", e))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, never swallowed
        conn.send(("error", (one_line(e), traceback.format_exc())))
    finally:
        conn.close()
        os._exit(0)


def run_isolated(fn: Callable, args: tuple = (), timeout: float = 600.0, what: str = "Lava run") -> tuple[Any, WorkerInfo]:
    """``fn(*args)`` in a forked worker; returns its result and how long / how many processes it took."""
    import psutil
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(fn, args, send), daemon=False)
    t0 = time.monotonic()
    worker.start()
    send.close()
    seen: dict[int, psutil.Process] = {}
    most, reply = 1, None
    try:
        while reply is None:
            most = max(most, 1 + _track(worker.pid, seen))
            if recv.poll(0.2):
                try:
                    reply = recv.recv()
                except EOFError:
                    reply = ("crash", None)
            elif not worker.is_alive() and not recv.poll(0.05):
                reply = ("crash", None)
            elif time.monotonic() - t0 > timeout:
                reply = ("hang", None)
        worker.join(timeout=5)
    finally:
        _kill_all(worker, seen)
    info = WorkerInfo(time.monotonic() - t0, most, (worker.pid, *seen))
    return _unpack(reply, worker.exitcode, timeout, what), info


def _track(pid: int, seen: dict) -> int:
    import psutil
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    for k in kids:
        seen.setdefault(k.pid, k)
    return len(kids)


def _kill_all(worker, seen: dict) -> None:
    import psutil
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for p in list(seen.values()):
        try:
            if p.is_running():
                p.kill()
        except psutil.Error:
            pass
    worker.join(timeout=5)
    psutil.wait_procs([p for p in seen.values()], timeout=5)


def _unpack(reply, exitcode, timeout, what):
    kind, payload = reply
    if kind == "ok":
        return payload
    if kind == "snnc":
        raise payload
    if kind == "hang":
        raise SimulationError(f"{what} did not finish within {timeout:.0f} s; it was stopped with all its "
                              f"processes (raise the timeout for large networks)")
    if kind == "crash":
        raise SimulationError(f"{what} crashed (worker exit code {exitcode}); all its processes were stopped")
    summary, trace = payload
    log.debug("%s failed in its worker process:\n%s", what, trace)
    raise SimulationError(f"{what} failed: {summary} (rerun with --debug for the worker's traceback)")


def one_line(e: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message`` (shortened), for a one-line error."""
    text = str(e).strip().splitlines()
    first = text[0] if text else ""
    first = first if len(first) <= limit else first[:limit - 3] + "..."
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
