"""Array files (.npy / .npz), the dtype rule, validation errors and batching."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.data import Dataset, batches, load_data
from snnc.compiler.errors import DataError


@pytest.fixture
def npz(tmp_path, rng):
    def make(name="d.npz", **arrays):
        path = tmp_path / name
        np.savez(path, **arrays)
        return path
    return make


def test_npz_with_labels(npz, rng):
    x = rng.normal(size=(7, 2, 4, 4)).astype(np.float32)
    y = np.arange(7) % 3
    ds = load_data(npz(x=x, y=y), input_shape=(2, 4, 4), num_classes=3)
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.x.dtype == np.float32 and len(ds) == 7 and ds.input_shape == (2, 4, 4)


def test_npz_of_one_unnamed_array_is_the_inputs(tmp_path, rng):
    """np.savez(f, a) stores the array as 'arr_0': taken as the inputs; two unnamed arrays stay ambiguous."""
    x = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    np.savez(tmp_path / "a.npz", x)
    ds = load_data(str(tmp_path / "a.npz"), input_shape=(2, 3, 3))
    np.testing.assert_array_equal(ds.x, x)
    assert ds.y is None
    np.savez(tmp_path / "b.npz", x, np.arange(4))
    with pytest.raises(DataError, match="no array named 'x' \\(keys: arr_0, arr_1\\)"):
        load_data(str(tmp_path / "b.npz"))


def test_npy_inputs_only_and_float64_cast(tmp_path, rng):
    x = rng.normal(size=(5, 12))
    np.save(tmp_path / "v.npy", x)
    ds = load_data(str(tmp_path / "v.npy"), input_shape=(12,), n=3)
    assert ds.y is None and ds.x.dtype == np.float32
    np.testing.assert_array_equal(ds.x, x[:3].astype(np.float32))


def test_uint8_is_scaled_by_1_over_255(npz):
    x = np.array([[[[0, 51, 255]]]], np.uint8)
    ds = load_data(npz(x=x))
    np.testing.assert_allclose(ds.x.ravel(), [0.0, 0.2, 1.0], rtol=1e-7)


def test_batches_cover_the_data_in_order(rng):
    ds = Dataset(rng.normal(size=(10, 3)).astype(np.float32), np.arange(10), "mem")
    got = list(batches(ds, 4))
    assert [len(xb) for xb, _ in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), np.arange(10))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), ds.x)
    nolabel = Dataset(ds.x, None, "mem")
    assert all(yb is None for _, yb in batches(nolabel, 3))
    with pytest.raises(DataError, match="batch_size"):
        next(batches(ds, 0))


@pytest.mark.parametrize("spec", ["nope.npz", "nope.npy", "no/such/folder"])
def test_missing_file(tmp_path, spec):
    with pytest.raises(DataError, match=f"{tmp_path / spec}.*no such file"):
        load_data(str(tmp_path / spec))


def test_unsupported_file_type(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n")
    with pytest.raises(DataError, match=r"d\.csv.*unsupported"):
        load_data(str(tmp_path / "d.csv"))


def test_corrupt_npy(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"garbage, not numpy")
    with pytest.raises(DataError, match=r"bad\.npy"):
        load_data(str(tmp_path / "bad.npy"))


def test_empty(npz):
    with pytest.raises(DataError, match=r"d\.npz: no samples"):
        load_data(npz(x=np.zeros((0, 1, 28, 28), np.float32)))


def test_npz_without_x(npz):
    with pytest.raises(DataError, match=r"no array named 'x' \(keys: data, labels\)"):
        load_data(npz(data=np.zeros((2, 3)), labels=np.zeros(2)))


def test_wrong_rank_names_expected_shape(npz):
    with pytest.raises(DataError, match=r"d\.npz: inputs have rank 3.*expects \(N, 1, 28, 28\)"):
        load_data(npz(x=np.zeros((4, 28, 28), np.float32)), input_shape=(1, 28, 28))


def test_wrong_shape_names_expected_shape(npz):
    with pytest.raises(DataError, match=r"\(3, 28, 28\) does not match.*\(1, 28, 28\)"):
        load_data(npz(x=np.zeros((4, 3, 28, 28), np.float32)), input_shape=(1, 28, 28))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, bool])
def test_non_float_dtype(npz, dtype):
    with pytest.raises(DataError, match=f"d\\.npz: inputs have dtype {np.dtype(dtype)}.*float"):
        load_data(npz(x=np.zeros((2, 3), dtype)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf(npz, bad):
    x = np.zeros((3, 4), np.float32)
    x[1, 2] = bad
    with pytest.raises(DataError, match=r"d\.npz: inputs contain 1 NaN or infinite"):
        load_data(npz(x=x))


def test_labels_out_of_range(npz):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(DataError, match=r"labels range over \[0, 10\].*10 classes"):
        load_data(npz(x=x, y=np.array([0, 10, 2])), num_classes=10)
    with pytest.raises(DataError, match=r"labels range over \[-1, 2\]"):
        load_data(npz(x=x, y=np.array([0, -1, 2])))


def test_labels_wrong_length_or_type(npz):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(DataError, match=r"labels have shape \(2,\) but there are 3 inputs"):
        load_data(npz(x=x, y=np.array([0, 1])))
    with pytest.raises(DataError, match=r"labels have shape \(3, 1\)"):
        load_data(npz(x=x, y=np.zeros((3, 1), np.int64)))
    with pytest.raises(DataError, match="labels have dtype float64"):
        load_data(npz(x=x, y=np.array([0.0, 1.0, 2.0])))


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"obj\.npy: it holds Python objects \(a pickle\)"):
        load_data(str(tmp_path / "obj.npy"))


def test_pickled_npz_is_refused(npz):
    path = npz(x=np.zeros((2, 3), np.float32), y=np.array([1, "a"], dtype=object))
    with pytest.raises(DataError, match=r"d\.npz: it holds Python objects"):
        load_data(path)


def test_n_must_be_positive(npz):
    with pytest.raises(DataError, match="n must be a positive"):
        load_data(npz(x=np.zeros((2, 3), np.float32)), n=0)


def test_header_declaring_a_huge_shape_is_a_data_error(tmp_path, rng):
    """A corrupt .npy header (found by the fuzz suite) that declares terabytes: DataError, not MemoryError."""
    import io
    buf = io.BytesIO()
    np.save(buf, rng.random((8, 3)).astype(np.float32))
    (tmp_path / "huge.npy").write_bytes(buf.getvalue().replace(b"(8,", b"(99999999999,", 1))
    with pytest.raises(DataError, match="does not fit in memory"):
        load_data(str(tmp_path / "huge.npy"))
