"""Run one fuzz case through the real CLI (a subprocess in its own temp tree) and check the contract.

Every run must: exit 0 or with a documented user-error code (docs/architecture.md, Errors: 2-8;
1 is an internal error, a bug); print no traceback and no Python warning; on failure print exactly
one ``error:`` line (continuation lines of a list under it are indented); write nothing but the
``-o`` file (the inputs, the working folder and $HOME are compared before and after); finish within
the per-case time limit (a hang on a FIFO is killed with its process group and reported). A model
that onnx's full checker or onnxruntime refuses must not compile (exit 0) either.
"""
from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

USER_ERRORS = {2, 3, 4, 5, 6, 7, 8}   # docs/architecture.md, Errors (1 = internal error: a bug)
WARNING_TEXT = re.compile(r"\b[A-Z]\w*Warning\b|warnings\.warn")


@dataclass
class Case:
    """One CLI run: ``setup(inputs)`` writes the input files (and special files) into ``inputs`` and
    returns the argv after ``snnc`` ({in} and {out} are replaced by the folders)."""
    family: str
    name: str
    setup: Callable[[Path], list]
    invalid_model: Optional[bytes] = None   # the mutated model, checked with onnx/onnxruntime (compile only)
    known: Optional[str] = None             # a known failure, fixed elsewhere: the reason
    tags: dict = field(default_factory=dict)


@dataclass
class Outcome:
    case: Case
    code: Optional[int]
    seconds: float
    violations: list
    known: Optional[str] = None

    @property
    def ok(self) -> bool:
        return not self.violations


def _tree(root: Path) -> dict:
    """Every entry under ``root``: relative path -> (kind, size, mtime), without following links."""
    out = {}
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = stat.S_IFMT(st.st_mode)
            out[str(p.relative_to(root))] = (kind, st.st_size if stat.S_ISREG(st.st_mode) else 0,
                                             st.st_mtime_ns if stat.S_ISREG(st.st_mode) else 0)
    return out


def model_is_invalid(data: bytes) -> Optional[str]:
    """Why onnx's full checker or onnxruntime refuses the model (None: both accept it)."""
    import onnx
    try:
        m = onnx.load_model_from_string(data)
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # noqa: BLE001 - any refusal is the answer
        return f"onnx checker: {type(e).__name__}"
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4   # the refusal is the answer, not a log line
        ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        return f"onnxruntime: {type(e).__name__}"
    return None


def _snnc() -> list:
    return [sys.executable, "-c", "from snnc.cli import entry; entry()"]


def run_case(case: Case, timeout: float = 60.0) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="snncfz") as tmp:
        root = Path(tmp)
        ins, cwd, out, home = (root / d for d in ("in", "run", "out", "home"))
        for d in (ins, cwd, out, home):
            d.mkdir()
        argv = [str(a).replace("{in}", str(ins)).replace("{out}", str(out)) for a in case.setup(ins)]
        before = {d: _tree(d) for d in (ins, cwd, home)}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNNC_")}
        env.update(SNNC_PROGRESS="0", HOME=str(home), PYTHONWARNINGS="default")
        t0 = time.monotonic()
        p = subprocess.Popen(_snnc() + argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return Outcome(case, None, time.monotonic() - t0, [f"hang: no exit within {timeout:.0f} s"], case.known)
        seconds = time.monotonic() - t0
        v = check_output(p.returncode, stdout, stderr)
        for d, tree in before.items():
            after = _tree(d)
            if after != tree:
                changed = sorted(set(after.items()) ^ set(tree.items()))
                v.append(f"wrote outside -o: {d.name}/ changed ({', '.join(sorted({c[0] for c in changed}))[:200]})")
        allowed = {Path(argv[i + 1]).name for i, a in enumerate(argv[:-1]) if a == "-o"}
        extra = [f for f in _tree(out) if f not in allowed]
        if extra:
            v.append(f"wrote unexpected files in the output folder: {extra[:5]}")
        known = case.known
        if case.invalid_model is not None and (p.returncode == 1 or (p.returncode == 0 and argv[0] == "compile")):
            why = model_is_invalid(case.invalid_model)
            if why and p.returncode == 0:
                v.append(f"compiled a model that {why.split(':')[0]} refuses ({why})")
        return Outcome(case, p.returncode, seconds, v, known if v else None)


def check_output(code: int, stdout: str, stderr: str) -> list:
    """Contract violations in one run's exit code and output."""
    v = []
    if code not in USER_ERRORS | {0}:
        v.append(f"exit code {code} is not 0 or a documented user error (2-8)"
                 + (": internal error" if code == 1 else ""))
    text = stdout + stderr
    if "Traceback (most recent call last)" in text:
        v.append("traceback printed")
    if WARNING_TEXT.search(stderr):
        v.append(f"warning text on stderr: {WARNING_TEXT.search(stderr).group(0)}")
    lines = stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    if code and len(errors) != 1:
        v.append(f"{len(errors)} 'error:' lines (want exactly one)")
    if not code and errors:
        v.append("exit 0 with an 'error:' line")
    if errors:
        tail = [line for line in lines[errors[0] + 1:] if line and not line[0].isspace()]
        if tail:
            v.append(f"unindented text after the error line: {tail[0][:80]!r}")
    return v
