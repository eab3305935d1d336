"""The settings of one fine-tuning run and the per-method defaults taken from the papers.

``FinetuneConfig`` is plain data: it is stored in the checkpoint (a resumed run
must match it) and in the tuned artifact's provenance (``meta["finetune"]``).
``None`` for ``batch_size`` / ``lr`` means the method's default
(``DEFAULTS``): the paper's optimiser and batch size, with the learning rate
chosen for fine-tuning an already converted network (docs/algorithms.md,
"Fine-tuning").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Optional

from snnc.compiler.errors import UsageError

# method -> (optimiser, batch size, learning rate); see each method's docstring for its paper's values
DEFAULTS = {
    "idsnn": ("sgd-momentum", 64, 0.005),
    "snn2ann": ("adam", 512, 0.001),
    "pipe-s": ("sgd", 64, 0.01),
}


@dataclass(frozen=True)
class FinetuneConfig:
    method: str
    T: int = 4
    epochs: int = 1
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    seed: int = 0
    patience: int = 2
    checkpoint_every: int = 200      # optimiser steps between mid-epoch checkpoints (0: epoch ends only)
    keep: str = "best"               # "best": the best validation epoch (0 = the converted net); "last"

    def resolved(self) -> "FinetuneConfig":
        """Defaults filled in and every value checked (UsageError naming the option)."""
        if self.method not in DEFAULTS:
            raise UsageError(f"--method must be one of {', '.join(DEFAULTS)}, got {self.method!r}")
        _, bs, lr = DEFAULTS[self.method]
        cfg = replace(self, batch_size=self.batch_size or bs, lr=self.lr if self.lr is not None else lr)
        for name, value, low in [("T", cfg.T, 1), ("epochs", cfg.epochs, 1), ("batch-size", cfg.batch_size, 1),
                                 ("patience", cfg.patience, 1), ("checkpoint-every", cfg.checkpoint_every, 0)]:
            if int(value) < low:
                raise UsageError(f"--{name} must be >= {low}, got {value}")
        if cfg.keep not in ("best", "last"):
            raise UsageError(f"--keep must be 'best' or 'last', got {cfg.keep!r}")
        if not cfg.lr > 0:
            raise UsageError(f"--lr must be positive, got {cfg.lr}")
        return cfg

    @property
    def optimizer(self) -> str:
        return DEFAULTS[self.method][0]

    def record(self) -> dict:
        return {**asdict(self), "optimizer": self.optimizer}
