"""Helpers shared by CLI commands: JSON output, tables, output-path checks."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Optional, Sequence

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
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def table(headers: Sequence[str], rows: Iterable[Sequence], align: str = "") -> str:
    """Plain-text table; ``align`` gives 'l' or 'r' per column (default: numbers right)."""
    rows = [[_fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells, raw=None):
        out = []
        for i, c in enumerate(cells):
            a = align[i] if i < len(align) else ("r" if raw and _is_num(raw[i]) else "l")
            out.append(c.rjust(widths[i]) if a == "r" else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), sep] + [line(r, r) for r in rows])


def _is_num(s: str) -> bool:
    try:
        float(s.replace(",", "").rstrip("%"))
        return True
    except ValueError:
        return False


def _fmt(c) -> str:
    if isinstance(c, float):
        return f"{c:.4g}"
    if isinstance(c, int) and not isinstance(c, bool):
        return f"{c:,}"
    return str(c)
