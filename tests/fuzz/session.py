"""The fuzz suite's valid starting points, built once per process: a compiled example artifact."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from .cases import EXAMPLE, Bases


@functools.lru_cache(maxsize=None)
def bases() -> Bases:
    import snnc
    with tempfile.TemporaryDirectory(prefix="snncfz") as tmp:
        x = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
        art = snnc.compile(str(EXAMPLE), x, iters=2)
        art.save(Path(tmp) / "a.snnc")
        return Bases((Path(tmp) / "a.snnc").read_bytes())
