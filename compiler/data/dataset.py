"""The :class:`Dataset` every loader returns, its validation and batching.

A dataset holds per-sample inputs ``x`` (float32, ``(N, C, H, W)`` for images
or ``(N, F)`` for vectors; the model's per-sample ``input_shape`` is
``x.shape[1:]``) and optional integer labels ``y`` (int64, ``(N,)``).

Dtype rule: floating inputs are cast to float32 unchanged. ``uint8`` inputs
are taken as 8-bit images and scaled ``x = pixels / 255`` into ``[0, 1]``;
every other integer or boolean dtype is rejected (convert and scale it
yourself), because its meaning is ambiguous.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from snnc.compiler.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (float32, N first), labels ``y`` (int64 ``(N,)`` or None) and where they came from."""

    x: np.ndarray
    y: Optional[np.ndarray]
    name: str
    classes: Optional[Tuple[str, ...]] = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])

    def take(self, n: Optional[int]) -> "Dataset":
        """The first ``n`` samples (all when ``n`` is None)."""
        if n is None:
            return self
        if int(n) < 1:
            raise DataError(f"{self.name}: n must be a positive number of samples, got {n}")
        y = None if self.y is None else self.y[:n]
        return Dataset(self.x[:n], y, self.name, self.classes)


def batches(dataset: Dataset, batch_size: int) -> Iterator[Tuple[np.ndarray, Optional[np.ndarray]]]:
    """Yield ``(x, y)`` slices of at most ``batch_size`` samples, in order (``y`` is None without labels)."""
    if int(batch_size) < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    for i in range(0, len(dataset), batch_size):
        y = None if dataset.y is None else dataset.y[i:i + batch_size]
        yield dataset.x[i:i + batch_size], y


def as_float_inputs(x: np.ndarray, source: str) -> np.ndarray:
    """Apply the dtype rule above: float -> float32, uint8 -> /255, anything else -> DataError."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(
            f"{source}: inputs have dtype {x.dtype}; expected floating point (or uint8 images, "
            f"which are scaled by 1/255). Convert the array to float32 with the model's scaling.")
    return x.astype(np.float32, copy=False)


def validate(ds: Dataset, input_shape: Optional[Sequence[int]] = None,
             num_classes: Optional[int] = None) -> Dataset:
    """Check a dataset against the model; return it unchanged or raise a DataError naming the source."""
    x, y, src = ds.x, ds.y, ds.name
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"{src}: no samples (input array shape {tuple(x.shape)}); "
                        f"expected (N, *input_shape) with N >= 1")
    if input_shape is not None:
        _check_shape(x, tuple(int(d) for d in input_shape), src)
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise DataError(f"{src}: inputs contain {bad} NaN or infinite values; clean the data first")
    if y is not None:
        _check_labels(y, len(x), num_classes, src)
    return ds


def _check_shape(x: np.ndarray, expected: Tuple[int, ...], src: str) -> None:
    if x.ndim != len(expected) + 1:
        raise DataError(f"{src}: inputs have rank {x.ndim} (shape {tuple(x.shape)}) but the model expects "
                        f"(N, {', '.join(map(str, expected))}), i.e. rank {len(expected) + 1}")
    if tuple(x.shape[1:]) != expected:
        raise DataError(f"{src}: per-sample shape {tuple(x.shape[1:])} does not match the model's "
                        f"input shape {expected}; expected inputs of shape (N, {', '.join(map(str, expected))})")


def _check_labels(y: np.ndarray, n: int, num_classes: Optional[int], src: str) -> None:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{src}: labels have shape {tuple(y.shape)} but there are {n} inputs; "
                        f"expected labels of shape ({n},)")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{src}: labels have dtype {y.dtype}; expected integer class indices")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0:
        raise DataError(f"{src}: labels range over [{lo}, {hi}]; class indices must be >= 0")
    if num_classes is not None and hi >= num_classes:
        raise DataError(f"{src}: labels range over [{lo}, {hi}] but the model has {num_classes} classes; "
                        f"expected labels in [0, {num_classes - 1}]")
