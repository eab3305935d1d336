"""Load a ``.pth`` state dict into a module, naming the first tensor that does not fit.

Files are read with ``torch.load(path, weights_only=True)``: only tensors and
plain containers are unpickled, never arbitrary objects, so a weights file
cannot run code. Accepted layouts: a state dict, or a checkpoint dict holding
one under ``"state_dict"`` or ``"model"``; a ``"module."`` prefix on every key
(``nn.DataParallel``) is removed.
"""
from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

from snnc.compiler.errors import ModelLoadError
from snnc.compiler.files import ZIP_ERRORS, input_path

CHECKPOINT_KEYS = ("state_dict", "model")
# buffers that eval-mode inference never reads; old checkpoints lack them
OPTIONAL_SUFFIXES = ("num_batches_tracked",)


def read_state_dict(path) -> dict:
    """The ``{name: tensor}`` dict stored in ``path`` (ModelLoadError if it is none)."""
    import torch

    path = input_path(path, "weights file")
    _check_crc(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelLoadError(f"cannot read weights file {path} as a torch state dict "
                             f"(torch.load with weights_only=True: {_load_reason(e)}); "
                             f"save it with torch.save(model.state_dict(), path)") from None
    if isinstance(obj, Mapping):
        for key in CHECKPOINT_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise ModelLoadError(f"{path} holds {_describe(obj)}, not a state dict {{name: tensor}}; "
                             f"save it with torch.save(model.state_dict(), path)")
    sd = dict(obj)
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _check_crc(path: Path) -> None:
    """Verify the CRC-32 of every member of a (zip-format) torch.save file, which torch.load does not:
    a flipped bit in a tensor would otherwise load as another weight. Members saved without a CRC
    (torch.serialization.set_crc32_options(False) stores 0) cannot be checked and are skipped; the
    legacy (pickle, non-zip) format has no checksum at all."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.CRC or not info.file_size:
                    z.read(info)
    except ZIP_ERRORS as e:
        raise ModelLoadError(f"weights file {path} is truncated or corrupt ({type(e).__name__}: {e}); copy or "
                             f"download it again") from None


def first_mismatch(expected: Mapping, given: Mapping) -> str | None:
    """Describe the first tensor of ``expected`` missing or misshapen in ``given``, then extra keys."""
    missing = [k for k in expected if k not in given and not k.endswith(OPTIONAL_SUFFIXES)]
    unexpected = [k for k in given if k not in expected]
    for k, want in expected.items():
        if k in given and tuple(given[k].shape) != tuple(want.shape):
            return (f"shape mismatch for tensor {k!r}: the file has {tuple(given[k].shape)}, "
                    f"the model needs {tuple(want.shape)}")
        if k in missing:
            return f"missing tensor {k!r}" + _more(len(missing) - 1, len(unexpected))
    if unexpected:
        return f"unexpected tensor {unexpected[0]!r}" + _more(0, len(unexpected) - 1)
    return None


def load_weights(module, path, name: str = "model"):
    """Load the state dict in ``path`` into ``module`` (strict, by name and shape); return module."""
    sd = read_state_dict(path)
    problem = first_mismatch(module.state_dict(), sd)
    if problem:
        raise ModelLoadError(f"weights {path} do not match the architecture of {name}: {problem}")
    module.load_state_dict(sd, strict=False)
    return module


def _more(missing: int, unexpected: int) -> str:
    parts = [f"{n} more {lbl}" for n, lbl in ((missing, "missing"), (unexpected, "unexpected")) if n > 0]
    return f" ({', '.join(parts)})" if parts else ""


def _describe(obj) -> str:
    if isinstance(obj, Mapping):
        bad = next((k for k, v in obj.items() if not _is_tensor(v)), None)
        return "an empty dict" if not obj else f"a dict whose entry {bad!r} is a {type(obj[bad]).__name__}"
    return f"a {type(obj).__name__}"


def _is_tensor(v) -> bool:
    import torch
    return torch.is_tensor(v)


def _load_reason(e: Exception) -> str:
    """The informative part of torch.load's error: its unpickler's reason, not the advice paragraph."""
    text = str(e)
    if "WeightsUnpickler error:" in text:
        reason = " ".join(text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation")[0].split())
        return f"not a torch.save file of tensors ({reason})"
    return (text.splitlines() or [type(e).__name__])[0][:200]
