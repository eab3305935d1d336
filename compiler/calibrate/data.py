"""Calibration inputs: an array (N, *input_shape), a ``Dataset``, or a spec for ``load_data``.

Rules (each violation is a :class:`DataError` naming the source): at least one
sample; the model's per-sample input shape; floating point (uint8 images are
scaled by 1/255, other integer dtypes rejected: their scaling is ambiguous);
finite values; and magnitudes below ``MAX_ABS`` = 1e3, because direct coding
feeds the analog input straight into the first layer and values beyond that
are almost surely unnormalised data (the model's input normalisation was not
applied). A spec without an explicit split (``mnist``) calibrates on the
training split, keeping the test split for evaluation; ``preprocessing``
(resize / crop / mean / std) goes to ``load_data`` for image folders.

One soft check logs a warning instead of failing: integer-valued inputs with
a maximum above ``PIXEL_MAX`` = 2 look like unnormalised 0-255 pixels (uint8
arrays are scaled by 1/255 before this check, so it fires on float arrays of
raw pixel values); calibrating on them gives thresholds for a scale the model
was not trained on.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from snnc.compiler.errors import DataError

log = logging.getLogger(__name__)
MAX_ABS = 1e3
PIXEL_MAX = 2.0
_CHECK_VALUES = 1_000_000


def calibration_inputs(calib, input_shape: Sequence[int], preprocessing: Optional[dict] = None
                       ) -> tuple[np.ndarray, str]:
    """(x float32 of shape (N, *input_shape), source name)."""
    x, _, name = calibration_dataset(calib, input_shape, preprocessing)
    return x, name


def validation_dataset(val, input_shape: Sequence[int], preprocessing: Optional[dict] = None
                       ) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, y, name) of the ``--val`` data: the calibration rules plus labels (accuracy needs them).

    A spec string without a split reads the test split; every error names the option.
    """
    try:
        x, y, name = calibration_dataset(val, input_shape, preprocessing, split="test")
    except DataError as e:
        raise DataError(f"--val (validation data): {e}") from None
    if y is None:
        raise DataError(f"--val (validation data): {name} has no labels; --val measures the clip-ANN's accuracy "
                        f"and needs labelled data (an .npz with x and y, 'mnist', or an image folder with one "
                        f"subfolder per class). Without --val a slice of --calib is held back to measure "
                        f"agreement with the ANN")
    return x, y, name


def calibration_dataset(calib, input_shape: Sequence[int], preprocessing: Optional[dict] = None,
                        split: str = "train") -> tuple[np.ndarray, Optional[np.ndarray], str]:
    """(x float32 of shape (N, *input_shape), labels or None, source name)."""
    from snnc.compiler.data import Dataset, load_data
    from snnc.compiler.data.dataset import as_float_inputs, validate
    if preprocessing and not isinstance(calib, (str, Path)):
        raise DataError(f"preprocessing ({', '.join(preprocessing)}) applies to image folders; the calibration "
                        f"data is a {type(calib).__name__}: preprocess it yourself or pass a folder")
    if isinstance(calib, (str, Path)):
        ds = load_data(str(calib), input_shape=tuple(input_shape), split=split, **(preprocessing or {}))
    elif isinstance(calib, Dataset):
        ds = validate(calib, tuple(input_shape))
    elif isinstance(calib, np.ndarray) or hasattr(calib, "__array__"):
        x = np.asarray(calib)
        if x.dtype == object or x.dtype.kind in "USVc":
            raise DataError(f"calibration array has dtype {x.dtype}; expected float32 inputs of shape "
                            f"(N, {', '.join(map(str, input_shape))})")
        x = as_float_inputs(x, "calibration array")
        ds = validate(Dataset(x, None, "calibration array"), tuple(input_shape))
    else:
        raise DataError(f"calibration data must be an array, a Dataset or a data spec string, "
                        f"got {type(calib).__name__}")
    x = ds.x
    peak = float(np.abs(x).max())
    if peak > MAX_ABS:
        raise DataError(f"{ds.name}: input values reach {peak:g}; snnc expects normalised inputs "
                        f"(|x| <= {MAX_ABS:g}). Apply the model's input normalisation first")
    if float(x.min()) == float(x.max()):
        raise DataError(f"{ds.name}: every calibration input value equals {float(x.min()):g} (constant data); "
                        f"thresholds calibrated on it would not describe real inputs: pass real samples, "
                        f"preprocessed as in training")
    warn_if_raw_pixels(x, ds.name)
    y = None if ds.y is None else np.asarray(ds.y)
    return np.ascontiguousarray(x, dtype=np.float32), y, ds.name


def looks_like_raw_pixels(x: np.ndarray) -> bool:
    """Integer-valued with max > PIXEL_MAX (checked on an evenly strided subsample of <= 1e6 values)."""
    flat = x.reshape(-1)
    sub = flat[::max(1, flat.size // _CHECK_VALUES)]
    return float(flat.max()) > PIXEL_MAX and bool(np.all(sub == np.round(sub)))


def warn_if_raw_pixels(x: np.ndarray, name: str) -> None:
    if looks_like_raw_pixels(x):
        log.warning("%s: calibration inputs are whole numbers up to %g, which looks like unnormalised 0-255 "
                    "pixels; scale them as in training (x / 255, then the model's mean/std), save them as uint8 "
                    "(scaled by 1/255), or pass the image folder with --normalize / --mean / --std", name, float(x.max()))
