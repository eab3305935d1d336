"""Random parameters for hand-built test graphs, from one seeded generator."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import BatchNorm, Conv2d


class Params:
    """``w(*shape)``, ``conv(o, i)`` and ``bn(c)`` drawing from ``self.rng`` in call order."""

    def __init__(self, seed: int):
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the generator: a test that reseeds first builds the same graph whatever ran before it."""
        self.rng = np.random.default_rng(seed)

    def w(self, *shape, s=0.5):
        return (self.rng.standard_normal(shape) * s).astype(np.float32)

    def conv(self, o, i, k=3, pad=1, **kw):
        return Conv2d(weight=self.w(o, i, k, k), bias=self.w(o), padding=(pad,) * 4, **kw)

    def bn(self, c):
        return BatchNorm(gamma=(self.rng.random(c) + 0.5).astype(np.float32), beta=self.w(c), mean=self.w(c),
                         var=(self.rng.random(c) + 0.5).astype(np.float32))
