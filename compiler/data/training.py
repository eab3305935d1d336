"""Labelled training data with a validation split (``snnc finetune``).

``load_training(spec, ...)`` returns ``(train, valid)``, two labelled
:class:`~snnc.compiler.data.dataset.Dataset` objects:

* ``mnist`` (or ``mnist:train``): the 50,000 training images and, as the
  validation split, MNIST's own 10,000 ``valid`` images (never the test split,
  which stays for evaluation).
* anything else ``load_data`` reads (.npz with labels, a labelled image
  folder): a seeded random ``valid_fraction`` of the samples is held out
  (at least one sample on each side).

Training data without labels (a .npy file, an .npz without ``y``, a flat image
folder) is a ``DataError``: fine-tuning minimises a classification loss.
``n`` keeps the first ``n`` training samples (a quick subset) and at most
``max(n // 5, 1)`` validation samples.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from snnc.compiler.data import load_data
from snnc.compiler.data.dataset import Dataset
from snnc.compiler.errors import DataError


def _require_labels(ds: Dataset) -> Dataset:
    if ds.y is None:
        raise DataError(f"{ds.name}: the training data has no labels; fine-tuning needs labelled data: an .npz "
                        f"with keys x and y, an image folder with one subfolder per class, or 'mnist'")
    return ds


def _split(ds: Dataset, valid_fraction: float, seed: int) -> Tuple[Dataset, Dataset]:
    n = len(ds)
    if n < 2:
        raise DataError(f"{ds.name}: {n} labelled sample(s); fine-tuning needs at least 2 (one to train on, "
                        f"one to validate on)")
    k = min(max(int(round(n * valid_fraction)), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    va, tr = np.sort(order[:k]), np.sort(order[k:])
    return (Dataset(ds.x[tr], ds.y[tr], f"{ds.name} (train part)", ds.classes),
            Dataset(ds.x[va], ds.y[va], f"{ds.name} (validation part)", ds.classes))


def load_training(spec: str, input_shape: Optional[Sequence[int]] = None, num_classes: Optional[int] = None,
                  n: Optional[int] = None, valid_fraction: float = 0.1, seed: int = 0,
                  **preprocessing) -> Tuple[Dataset, Dataset]:
    """(train, valid) labelled datasets for ``spec`` (see the module docstring)."""
    if not 0.0 < float(valid_fraction) < 1.0:
        raise DataError(f"the validation fraction must be in (0, 1), got {valid_fraction}")
    spec = str(spec)
    kw = dict(input_shape=input_shape, num_classes=num_classes, **preprocessing)
    if spec in ("mnist", "mnist:train"):
        train = _require_labels(load_data("mnist:train", n=n, **kw))
        valid = _require_labels(load_data("mnist:valid", n=None if n is None else max(n // 5, 1), **kw))
        return train, valid
    if spec.startswith("mnist:"):
        raise DataError(f"{spec}: fine-tune on 'mnist' (the train split; its valid split validates); the "
                        f"{spec.partition(':')[2]} split is not training data")
    train, valid = _split(_require_labels(load_data(spec, **kw)), valid_fraction, seed)
    if n is not None:
        train, valid = train.take(n), valid.take(max(int(n) // 5, 1))
    return train, valid
