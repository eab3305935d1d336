"""The torch device a run asks for, or a clear error when it is not there."""
from __future__ import annotations

import torch

from snnc.compiler.errors import BackendError, UsageError


def resolve_device(device) -> torch.device:
    """``torch.device`` for "cpu", "cuda" or "cuda:K"; BackendError when that CUDA device is absent."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UsageError(f"--device must be 'cpu', 'cuda' or 'cuda:K', got {device!r}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise UsageError(f"--device must be 'cpu', 'cuda' or 'cuda:K', got {device!r}")
    if not torch.cuda.is_available():
        why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise BackendError(f"--device {device}: CUDA is not available here ({why}; torch {torch.__version__}); "
                           f"use --device cpu")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise BackendError(f"--device {device}: there are only {torch.cuda.device_count()} CUDA device(s)")
    return dev
