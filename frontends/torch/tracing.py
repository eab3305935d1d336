"""Guards around the exporters: the model must run, and its trace must hold for every input.

Three failure modes would otherwise reach the user as torch internals or, worse,
as a silently wrong graph:

* **The example input does not fit** (``--input-shape 1,3,8,8`` for a model that
  needs 224, or a channel mismatch). ``check_forward`` runs one eager forward
  pass first and reports torch's first error line (``DataError``), instead of
  two exporters' tracebacks.
* **Data-dependent Python control flow** (``if x.sum() > 0:``, ``int(x.max())``,
  ``.item()``). A trace records the path the example input took; the other
  branch is lost and the graph is wrong for other inputs. The TorchScript
  tracer only *warns* (``torch.jit.TracerWarning``); ``record_tracer_warnings``
  turns its warning into a failure of that exporter, so the export falls back
  to ``torch.export``, which treats shapes as static (a shape read through
  ``int(x.shape[1])`` exports correctly there) and raises on any guard on a
  tensor *value* (``GuardOnDataDependentSymNode``, dynamo's "Data-dependent
  branching"). ``data_dependent`` recognises those errors so the final message
  says what to change in ``forward``.
* **Noise**: ``torch.export`` prints partial FX graphs to ``sys.stderr`` and
  logs through the ``torch.*`` loggers while it fails, and the legacy exporter's
  C++ logger writes "Torch IR graph at exception" to the stdout file descriptor
  (its ``verbose`` flag does not turn it off); ``quiet_torch`` keeps all of it
  out of the user's terminal during the export (the error message quotes what
  matters).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import warnings

from snnc.compiler.errors import DataError

# error types / messages of torch.export and dynamo that mean "the output depends on tensor values"
# (a graph break for another reason, e.g. an unsupported builtin, is an ordinary export failure)
_DATA_DEPENDENT = re.compile(r"GuardOnDataDependentSymNode|DataDependentOutputException|data-dependent"
                             r"|DYNAMIC_CONTROL_FLOW|Dynamic control flow", re.I)


class TraceMayNotGeneralise(RuntimeError):
    """The TorchScript tracer warned that its graph holds only for the example input."""

    label = "TracerWarning"

    def __init__(self, warning):
        where = f"{warning.filename}:{warning.lineno}"
        text = " ".join(str(warning.message).split())
        first = text.split(". ")[0].rstrip(".")
        super().__init__(f"at {where}: {first}")
        self.where = where


def check_forward(model, x, name: str) -> None:
    """Run ``model(x)`` once eagerly (no grad); DataError with torch's first error line if it fails."""
    import torch

    try:
        with torch.no_grad():
            model(x)
    except Exception as e:  # noqa: BLE001 - whatever the model raises on this input
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        reason = f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]
        raise DataError(f"{name} fails on input shape {tuple(x.shape)} (one forward pass before export): "
                        f"{reason}; pass the input shape the model expects (--input-shape N,C,H,W / "
                        f"example_input) or fix its forward()") from None


@contextlib.contextmanager
def record_tracer_warnings():
    """Ignore the exporter's other warnings; raise TraceMayNotGeneralise on the first TracerWarning."""
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", torch.jit.TracerWarning)
        yield
    tracer = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    if tracer:
        raise TraceMayNotGeneralise(tracer[0])


@contextlib.contextmanager
def quiet_torch(level: int = logging.ERROR):
    """Raise every ``torch*`` logger to ``level``, swallow ``sys.stderr`` prints and C++ output; restore."""
    manager = logging.Logger.manager
    names = ["torch"] + [n for n, lg in list(manager.loggerDict.items())
                         if n.startswith("torch") and isinstance(lg, logging.Logger)]
    saved = {n: logging.getLogger(n).level for n in dict.fromkeys(names)}
    for n in saved:
        logging.getLogger(n).setLevel(max(level, saved[n]))
    try:
        with contextlib.redirect_stderr(io.StringIO()), _quiet_file_descriptors():
            yield
    finally:
        for n, lvl in saved.items():
            logging.getLogger(n).setLevel(lvl)


@contextlib.contextmanager
def _quiet_file_descriptors():
    """Point fds 1 and 2 at /dev/null (C++ writes bypass sys.stdout/sys.stderr); no-op without fds."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


def data_dependent(e: BaseException) -> bool:
    """Whether an exporter failure (or any exception in its cause chain) is a data-dependent trace."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, TraceMayNotGeneralise) or _DATA_DEPENDENT.search(f"{type(e).__name__} {e}"):
            return True
        e = e.__cause__ or e.__context__
    return False


def data_dependent_message(name: str, cls: str, errors: list[str]) -> str:
    """One line: which module, what the exporters saw, what to change."""
    return (f"cannot convert {name} ({cls}): its forward() depends on tensor values through Python "
            f"control flow or conversions, so a traced graph would hold only the path the example input "
            f"took and be wrong for other inputs ({'; '.join(errors)}); remove data-dependent Python "
            f"control flow from forward() (if/while on tensor values, .item(), int()/float()/bool() of "
            f"a tensor: use torch.where, torch.clamp or masks instead) or export the ONNX file yourself")
