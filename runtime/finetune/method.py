"""The interface every fine-tuning method implements (one module per method, registered in ``METHODS``).

A method owns the training forward pass and loss of one optimiser step; the
shared loop (``snnc.runtime.finetune.loop``) owns batching, the optimiser,
progress, validation, checkpoints and early stopping. Validation always runs
the deployed network: the SNN at T with the artifact's readout window.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Optional

import torch


class Method(ABC):
    name = ""
    paper = ""
    needs_teacher = False
    max_grad_norm = None   # clip the gradient's global L2 norm to this before each step (None: no clipping)

    def __init__(self, net, graph, T: int, delay: int, total_steps: int, teacher: Optional[torch.Tensor] = None):
        self.net, self.graph, self.T, self.delay = net, graph, T, delay
        self.total_steps, self.teacher = total_steps, teacher

    @abstractmethod
    def loss(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, step: int):
        """(loss, logits of the batch) for optimiser step ``step`` (0-based over the whole run)."""

    def after_step(self, step: int) -> None:
        """Work after the optimiser step (e.g. SNN2ANN's threshold adjustment)."""

    def state(self) -> dict:
        """The method's own state (checkpointed); tensors, numbers and strings only."""
        return {}

    def load_state(self, state: dict) -> None:
        """Restore what ``state`` returned (a method without state of its own has nothing to restore)."""

    def record(self) -> dict:
        """The method's parameters for the artifact's provenance."""
        return {"paper": self.paper}

    def postfix(self) -> dict:
        """Extra progress-bar fields."""
        return {}
