"""The CLI's last line of defence: every failure is one line and a documented exit code."""
from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest

from snnc import cli
from snnc.cli.common import check_writable
from snnc.compiler.errors import OutputError, SnncError, UsageError


def _fake_command(monkeypatch, action):
    mod = types.ModuleType("snnc_fake_cmd")
    mod.__spec__ = importlib.machinery.ModuleSpec("snnc_fake_cmd", None)
    mod.add_arguments = lambda p: None
    mod.run = lambda args: action()
    monkeypatch.setitem(sys.modules, "snnc_fake_cmd", mod)
    monkeypatch.setitem(cli.COMMANDS, "fake", ("snnc_fake_cmd", "a test command"))


def _raise(exc):
    def action():
        raise exc
    return action


@pytest.mark.parametrize("exc, code, text", [
    (OSError(28, "No space left on device", "/data/out.snnc"), OutputError.exit_code,
     "error: /data/out.snnc: No space left on device"),
    (ZeroDivisionError("division by zero"), SnncError.exit_code,
     "error: internal error (ZeroDivisionError: division by zero); this is a bug in snnc: rerun with --debug"),
    (ModuleNotFoundError("No module named 'h5py'", name="h5py"), UsageError.exit_code,
     "needs the Python package 'h5py', which is not installed; install it with: pip install 'snnc[lava]'"),
    (UsageError("bad option --x"), UsageError.exit_code, "error: bad option --x"),
])
def test_failures_are_one_line_with_their_exit_code(monkeypatch, capsys, exc, code, text):
    _fake_command(monkeypatch, _raise(exc))
    assert cli.main(["fake"]) == code
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch):
    _fake_command(monkeypatch, _raise(ZeroDivisionError("boom")))
    with pytest.raises(ZeroDivisionError):
        cli.main(["fake", "--debug"])


def test_closed_pipe_exits_quietly(monkeypatch, capsys):
    """`snnc inspect --json | head -1`: the reader closes the pipe; snnc exits 0 without a traceback."""
    monkeypatch.setattr(cli, "_silence_stdout", lambda: None)  # pytest's captured stdout has no real fd
    _fake_command(monkeypatch, _raise(BrokenPipeError(32, "Broken pipe")))
    assert cli.main(["fake"]) == 0
    assert capsys.readouterr().err == ""


def test_check_writable(tmp_path):
    assert check_writable(None, "x") is None
    assert check_writable(str(tmp_path / "a.snnc"), "artifact") == tmp_path / "a.snnc"
    with pytest.raises(OutputError, match=r"artifact .*: is a directory"):
        check_writable(str(tmp_path), "artifact")
    with pytest.raises(OutputError, match=r"plot .*missing/x.png: folder .*missing does not exist"):
        check_writable(str(tmp_path / "missing" / "x.png"), "plot")
