"""Checkpoints: everything a fine-tuning run needs to continue exactly where it stopped.

A checkpoint holds the network's parameters, the optimiser and learning-rate
schedule state, the method's own state (e.g. SNN2ANN's thresholds, pipe-S's
stage), the position (epoch, batch), the running statistics of the progress
bar, the history, the best validation state so far and a fingerprint of the
run (artifact, data, configuration). The batch order of every epoch is a pure
function of (seed, epoch), so a resumed run replays the remaining batches in
the same order and ends with the same bytes as an uninterrupted run.

Files are written atomically (a temporary file, then ``os.replace``) so an
interruption while writing leaves the previous checkpoint intact, and read
with ``torch.load(..., weights_only=True)`` (no pickled code is ever executed).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch

from snnc.compiler.errors import ModelLoadError, OutputError, UsageError


def save(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write the checkpoint {path}: {e.strerror or e}; choose a writable "
                          f"--checkpoint path") from None


def load(path: Path, fingerprint: dict) -> Optional[dict]:
    """The checkpoint at ``path`` (None when there is none); UsageError when it belongs to another run."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise ModelLoadError(f"{path}: not a readable snnc fine-tuning checkpoint ({type(e).__name__}: {e}); "
                             f"delete it to start over") from None
    theirs = state.get("fingerprint", {})
    diff = sorted(k for k in set(fingerprint) | set(theirs) if fingerprint.get(k) != theirs.get(k))
    if diff:
        raise UsageError(f"{path} was written by another fine-tuning run (differs in: {', '.join(diff)}); "
                         f"resume with the same model, data and options, or delete the checkpoint")
    return state
