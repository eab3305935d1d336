"""NumPy array files: ``.npy`` (inputs only) and ``.npz`` (key ``x``, optional key ``y``).

An ``.npz`` holding one unnamed array (``np.savez(f, a)``, stored as key
``arr_0``) is taken as the inputs.

Files are always opened with ``allow_pickle=False``: an object array (which
would need unpickling, i.e. running code from the file) is rejected.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from snnc.compiler.errors import DataError

_PICKLE_HINT = ("it holds Python objects (a pickle), which snnc never loads; "
                "save plain numeric arrays, e.g. np.savez(path, x=x.astype(np.float32), y=y.astype(np.int64))")


def load_npy(path: Path) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Inputs from a ``.npy`` file; no labels."""
    return _guard(path, lambda: np.load(path, allow_pickle=False)), None


def load_npz(path: Path) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``x`` and optional ``y`` from a ``.npz`` archive."""
    def read():
        with np.load(path, allow_pickle=False) as z:
            if z.files == ["arr_0"]:  # np.savez(f, a): one unnamed array, the inputs
                return z["arr_0"], None
            if "x" not in z.files:
                keys = ", ".join(z.files) or "none"
                raise DataError(f"{path}: no array named 'x' (keys: {keys}); save inputs as x= and labels as y=")
            return z["x"], (z["y"] if "y" in z.files else None)
    return _guard(path, read)


def _guard(path: Path, read):
    """Run ``read`` turning NumPy's pickle refusal and corrupt-file errors into DataError."""
    try:
        return read()
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError(f"{path}: {_PICKLE_HINT}") from None
        raise DataError(f"{path}: not a valid NumPy file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: cannot read the NumPy file ({e})") from None
    except MemoryError as e:   # a header declaring a huge shape (corrupt), or more data than fits at once
        raise DataError(f"{path}: the array does not fit in memory ({e}); a corrupt header, or pass fewer "
                        "samples (e.g. a subset saved with np.save)") from None
