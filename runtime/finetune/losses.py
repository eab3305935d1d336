"""Losses and the readout the fine-tuning methods share.

The SNN's prediction is the readout window's mean current (algorithms.md
section 6): ``logits = mean_{t=D+1..T} I_L(t)``; every method trains exactly
what the artifact later evaluates.

IDSNN's distillation loss (IDSNN, section 3.3.1, Eqs. 6-8)::

    L = CE(s, y) + alpha * tau^2 * KL( softmax(t / tau) || softmax(s / tau) )

with student logits ``s``, teacher logits ``t``, alpha = 0.3 and tau = 4
(the paper's Eq. 8 writes the temperature as T; here it is tau, T being the
number of time steps). The KL direction is Hinton's: the teacher distribution
is the target (``torch.nn.functional.kl_div`` with ``reduction="batchmean"``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

KD_ALPHA = 0.3
KD_TAU = 4.0


def window_logits(currents: torch.Tensor, delay: int) -> torch.Tensor:
    """Mean over t = D+1..T of the readout currents ``currents`` of shape (T, N, K)."""
    if not 0 <= delay < currents.shape[0]:
        raise ValueError(f"readout delay {delay} leaves no step of T={currents.shape[0]}")
    return currents[delay:].mean(0)


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor, alpha: float = KD_ALPHA,
            tau: float = KD_TAU) -> torch.Tensor:
    """CE(s, y) + alpha * tau^2 * KL(softmax(t/tau) || softmax(s/tau)) (IDSNN Eq. 8), batch means."""
    kl = F.kl_div(F.log_softmax(student / tau, dim=1), F.softmax(teacher / tau, dim=1), reduction="batchmean")
    return F.cross_entropy(student, y) + alpha * tau * tau * kl


def accuracy_count(logits: torch.Tensor, y: torch.Tensor) -> int:
    return int((logits.argmax(1) == y).sum())
