"""Plain-text tables: the readable form of every report (the CLI's and the analysis' own)."""
from __future__ import annotations

from typing import Iterable, Sequence


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
