"""Image preprocessing options (resize, crop, mean/std normalisation) and their JSON record.

The record is what ``load_data(..., **record)`` takes and what an artifact
stores as ``meta["preprocessing"]``, so that evaluation applies the same
preprocessing as calibration::

    {"resize": 256, "crop": [224, 224], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

Keys are optional (an empty record: the loader's defaults, see
:mod:`snnc.compiler.data.images`). ``resize`` / ``crop`` are an int or
``[height, width]``; ``mean`` / ``std`` one value or one per channel, applied
as ``x = (pixel / 255 - mean[c]) / std[c]``. ``PRESETS`` names common
normalisations (``imagenet``: torchvision's ImageNet statistics).
"""
from __future__ import annotations

import math
from typing import Optional

from snnc.compiler.errors import UsageError

KEYS = ("resize", "crop", "mean", "std")
PRESETS = {
    "imagenet": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "none": {},
}


def preset(name: str) -> dict:
    """The mean/std of a named normalisation (``imagenet``, ``none``)."""
    try:
        return {k: list(v) for k, v in PRESETS[name].items()}
    except KeyError:
        raise UsageError(f"unknown normalisation preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def preprocessing_record(options: Optional[dict]) -> dict:
    """Validated JSON form of ``options`` (keys of ``KEYS``; None values dropped)."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(KEYS))
    if unknown:
        raise UsageError(f"unknown preprocessing option(s) {', '.join(unknown)}; use {', '.join(KEYS)}")
    out = {}
    for key in ("resize", "crop"):
        if options.get(key) is not None:
            out[key] = _size(options[key], key)
    for key in ("mean", "std"):
        if options.get(key) is not None:
            out[key] = _values(options[key], key)
    if any(v == 0 for v in out.get("std", ())):
        raise UsageError(f"std must be non-zero, got {out['std']}")
    return out


def describe(record: dict) -> str:
    """One line for reports: ``resize 256, crop 224x224, mean [...], std [...]`` (or ``none``)."""
    parts = []
    for key in KEYS:
        v = record.get(key)
        if v is None:
            continue
        if key in ("resize", "crop"):
            parts.append(f"{key} {v}" if isinstance(v, int) else f"{key} {v[0]}x{v[1]}")
        else:
            parts.append(f"{key} {', '.join(f'{x:g}' for x in v)}")
    return "; ".join(parts) or "none"


def _size(v, key: str):
    if isinstance(v, str):
        v = [p for p in v.replace("x", ",").split(",") if p.strip()]
        v = v[0] if len(v) == 1 else v
    try:
        if isinstance(v, (list, tuple)):
            dims = [int(d) for d in v]
            if len(dims) != 2 or min(dims) < 1 or any(float(a) != d for a, d in zip(v, dims)):
                raise ValueError
            return dims
        d = int(v)
        if d < 1 or float(v) != d:
            raise ValueError
        return d
    except (TypeError, ValueError):
        raise UsageError(f"{key} must be a positive integer or HEIGHT,WIDTH, got {v!r}") from None


def _values(v, key: str) -> list:
    if isinstance(v, str):
        v = [p for p in v.split(",") if p.strip()]
    if not isinstance(v, (list, tuple)):
        v = [v]
    try:
        vals = [float(x) for x in v]
    except (TypeError, ValueError):
        raise UsageError(f"{key} must be one number or one per channel (comma-separated), got {v!r}") from None
    if not vals or not all(math.isfinite(x) for x in vals):
        raise UsageError(f"{key} must be finite numbers, got {v!r}")
    return vals
