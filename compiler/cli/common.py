"""Helpers shared by CLI commands: JSON output, tables, output-path checks."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

from snnc.compiler.analysis.tables import table  # noqa: F401 - the CLI's tables (analysis prints them too)
from snnc.compiler.errors import OutputError


def check_writable(path: Optional[str], what: str) -> Optional[Path]:
    """Fail before any work if ``path`` (an output file) cannot be written; None passes through.

    Commands call this for every output option first, so a typo in ``-o`` or
    ``--plot`` costs nothing instead of losing a long calibration or simulation.
    """
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{what} {p}: is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{what} {p}: folder {parent} does not exist; create it or choose another path")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise OutputError(f"{what} {p}: not writable (permission denied)")
    return p


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=_default)
    sys.stdout.write("\n")


def _default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
