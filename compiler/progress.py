"""Progress bars for long work (calibration, simulation, Lava runs)."""
from __future__ import annotations

import os
import sys


def progress(iterable=None, total=None, desc: str = "", unit: str = "it"):
    """A tqdm progress bar on stderr (disabled when stderr is not a terminal unless SNNC_PROGRESS=1)."""
    from tqdm.auto import tqdm
    disable = not (sys.stderr.isatty() or os.environ.get("SNNC_PROGRESS") == "1")
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False, file=sys.stderr)
