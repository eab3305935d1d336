"""Helpers shared by CLI commands: JSON output, tables, output-path checks."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from snnc.compiler.analysis.tables import table  # noqa: F401 - the CLI's tables (analysis prints them too)
from snnc.compiler.files import output_path


def check_writable(path: Optional[str], what: str) -> Optional[Path]:
    """Fail before any work if ``path`` (an output file) cannot be written; None passes through.

    Commands call this for every output option first, so a typo in ``-o`` or
    ``--plot`` costs nothing instead of losing a long calibration or simulation.
    """
    if path is None:
        return None
    return output_path(path, what)


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=_default)
    sys.stdout.write("\n")


def _default(o):
    import numpy as np
    from snnc.compiler.records import Record
    if isinstance(o, Record):   # a typed result: its JSON document
        return o.to_json()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
