"""One check for every path a user gives, run before the file is opened.

Reading a FIFO blocks until a writer appears (forever, for a forgotten named
pipe), and a device or socket is never a model, data set or artifact. So
every input path (model, external-data file, calibration data, weights,
artifact, profile) and every output path goes through :func:`input_path` /
:func:`output_path` first: ``os.stat`` (which does not open the file) tells a
regular file and a folder from a FIFO, a character or block device and a
socket, and the last three are refused at once with an error naming the path.
"""
from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Optional, Type, Union

from snnc.compiler.errors import ModelLoadError, OutputError, SnncError

PathLike = Union[str, Path]

ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError, EOFError, zlib.error,
              NotImplementedError, RuntimeError, struct.error)
"""What ``zipfile`` raises on a truncated, bit-flipped or hand-made archive (bad CRC-32, bad deflate
stream, unknown compression method, encrypted member, broken header): the readers of ``.snnc``
artifacts, graph files and ``.pth`` weights turn these into one ModelLoadError."""

_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind(path: PathLike) -> Optional[str]:
    """"file", "dir", a description of a special file, or None when nothing is there (symlinks followed)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # missing, dangling symlink, name too long, NUL byte in the name
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return next((name for test, name in _SPECIAL if test(mode)), "a special file")


def input_path(path: PathLike, what: str, error: Type[SnncError] = ModelLoadError, want: str = "file",
               hint: str = "") -> Path:
    """``path`` as a Path when it is an existing regular file (``want="file"``), folder (``"dir"``) or
    either (``"any"``); otherwise ``error`` naming ``what`` and the path, before anything is opened."""
    p = Path(path)
    k = kind(p)
    hint = f"; {hint}" if hint else ""
    if k is None:
        noun = {"any": "file or folder", "dir": "folder"}.get(want, "file")
        raise error(f"{what} {p}: no such {noun} (the path does not exist){hint}")
    if k not in ("file", "dir"):
        raise error(f"{what} {p} is {k}, not a regular file; snnc reads regular files and folders only "
                    f"(reading it could block forever){hint}")
    if want == "file" and k == "dir":
        raise error(f"{what} {p} is a directory, not a file{hint}")
    if want == "dir" and k == "file":
        raise error(f"{what} {p} is a file, not a folder{hint}")
    return p


def output_path(path: PathLike, what: str) -> Path:
    """``path`` as a Path when it can be created or overwritten as a regular file; OutputError otherwise."""
    p = Path(path)
    k = kind(p)
    if k == "dir":
        raise OutputError(f"{what} {p}: is a directory; give a file name")
    if k not in (None, "file"):
        raise OutputError(f"{what} {p} is {k}, not a regular file; give the path of a file to create")
    parent = p.parent if str(p.parent) else Path(".")
    if kind(parent) != "dir":
        raise OutputError(f"{what} {p}: folder {parent} does not exist; create it or choose another path")
    if not os.access(parent, os.W_OK) or (k == "file" and not os.access(p, os.W_OK)):
        raise OutputError(f"{what} {p}: not writable (permission denied)")
    return p
