"""Calibration inputs: an array (N, *input_shape), a ``Dataset``, or a spec for ``load_data``.

Rules (each violation is a :class:`DataError` naming the source): at least one
sample; the model's per-sample input shape; floating point (uint8 images are
scaled by 1/255, other integer dtypes rejected: their scaling is ambiguous);
finite values; and magnitudes below ``MAX_ABS`` = 1e3, because direct coding
feeds the analog input straight into the first layer and values beyond that
are almost surely unnormalised data (the model's input normalisation was not
applied). A spec without an explicit split (``mnist``) calibrates on the
training split, keeping the test split for evaluation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from snnc.compiler.errors import DataError

MAX_ABS = 1e3


def calibration_inputs(calib, input_shape: Sequence[int]) -> tuple[np.ndarray, str]:
    """(x float32 of shape (N, *input_shape), source name)."""
    from snnc.compiler.data import Dataset, load_data
    from snnc.compiler.data.dataset import as_float_inputs, validate
    if isinstance(calib, (str, Path)):
        ds = load_data(str(calib), input_shape=tuple(input_shape), split="train")
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
    return np.ascontiguousarray(x, dtype=np.float32), ds.name
