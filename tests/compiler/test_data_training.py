"""Labelled training data with a validation split (``snnc finetune``)."""
import numpy as np
import pytest

from snnc.compiler.data.training import load_training
from snnc.compiler.errors import DataError


def test_npz_split_is_seeded_disjoint_and_complete(tmp_path, rng):
    x = rng.random((50, 1, 4, 4)).astype(np.float32)
    x[:, 0, 0, 0] = np.arange(50)                       # a sample's identity
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 3, 50))
    tr, va = load_training(str(tmp_path / "d.npz"), (1, 4, 4), 3, valid_fraction=0.2, seed=1)
    ids_tr, ids_va = tr.x[:, 0, 0, 0].astype(int), va.x[:, 0, 0, 0].astype(int)
    assert (len(tr), len(va)) == (40, 10) and not set(ids_tr) & set(ids_va)
    assert sorted(set(ids_tr) | set(ids_va)) == list(range(50))
    tr2, va2 = load_training(str(tmp_path / "d.npz"), (1, 4, 4), 3, valid_fraction=0.2, seed=1)
    assert np.array_equal(va.x, va2.x) and np.array_equal(tr.y, tr2.y)
    _, va3 = load_training(str(tmp_path / "d.npz"), (1, 4, 4), 3, valid_fraction=0.2, seed=2)
    assert not np.array_equal(va.x, va3.x)
    tr4, va4 = load_training(str(tmp_path / "d.npz"), (1, 4, 4), 3, n=10, seed=1)
    assert (len(tr4), len(va4)) == (10, 2)


def test_mnist_trains_on_train_and_validates_on_valid():
    tr, va = load_training("mnist", (1, 28, 28), 10, n=100)
    assert (tr.name, len(tr), va.name, len(va)) == ("mnist:train", 100, "mnist:valid", 20)
    assert tr.y is not None and va.y is not None


def test_unlabelled_or_unusable_training_data_is_a_data_error(tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.random((5, 1, 4, 4)).astype(np.float32))
    with pytest.raises(DataError, match="has no labels"):
        load_training(str(tmp_path / "x.npy"), (1, 4, 4))
    np.savez(tmp_path / "one.npz", x=rng.random((1, 1, 4, 4)).astype(np.float32), y=np.array([0]))
    with pytest.raises(DataError, match="at least 2"):
        load_training(str(tmp_path / "one.npz"), (1, 4, 4))
    with pytest.raises(DataError, match="not training data"):
        load_training("mnist:test", (1, 28, 28))
    with pytest.raises(DataError, match=r"validation fraction must be in \(0, 1\)"):
        load_training("mnist", (1, 28, 28), valid_fraction=1.0)
