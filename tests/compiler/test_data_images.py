"""Image folders (class subfolders, flat folders, single files) and their errors."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from snnc.compiler.data import load_data
from snnc.compiler.errors import DataError


def save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode).save(path)
    return path


@pytest.fixture
def classes(tmp_path):
    """root/<cat|dog|eel>/<i>.png: solid RGB colours, so every pixel is known."""
    colours = {"dog": (10, 20, 30), "cat": (200, 100, 0), "eel": (255, 255, 255)}
    for name, rgb in colours.items():
        for i in range(2):
            save(tmp_path / "root" / name / f"{i}.png", np.full((6, 8, 3), rgb))
    return tmp_path / "root", colours


def test_class_folders_give_sorted_labels_and_exact_pixels(classes):
    root, colours = classes
    ds = load_data(str(root))
    assert ds.classes == ("cat", "dog", "eel")
    assert ds.y.tolist() == [0, 0, 1, 1, 2, 2]
    assert ds.x.shape == (6, 3, 6, 8) and ds.x.dtype == np.float32
    for i, name in enumerate(ds.classes):
        expected = np.asarray(colours[name], np.float32) / 255
        np.testing.assert_allclose(ds.x[2 * i].mean(axis=(1, 2)), expected, rtol=1e-6)
        assert np.ptp(ds.x[2 * i], axis=(1, 2)).max() == 0  # solid colour stays solid


def test_mean_std_normalisation(classes):
    root, _ = classes
    mean, std = (0.5, 0.25, 0.0), (0.5, 0.5, 2.0)
    ds = load_data(str(root), mean=mean, std=std, n=6)
    expected = (np.array([200, 100, 0]) / 255 - mean) / std  # first image: cat
    np.testing.assert_allclose(ds.x[0, :, 0, 0], expected, rtol=1e-5)


def test_n_takes_every_class(classes):
    root, _ = classes
    ds = load_data(str(root), n=3)
    assert sorted(ds.y.tolist()) == [0, 1, 2]
    with pytest.raises(DataError, match="n must be a positive"):
        load_data(str(root), n=0)


def test_input_shape_resizes_and_crops_greyscale(tmp_path):
    # a 10x20 column ramp: after resize shorter side 10->4 the centre 4x4 crop keeps the middle
    img = np.tile(np.arange(20) * 12, (10, 1))
    save(tmp_path / "flat" / "a.png", img)
    ds = load_data(str(tmp_path / "flat"), input_shape=(1, 4, 4))
    assert ds.y is None and ds.x.shape == (1, 1, 4, 4)
    row = ds.x[0, 0, 0]
    assert np.all(np.diff(row) > 0)  # the ramp still increases left to right
    assert abs(row.mean() - img.mean() / 255) < 0.05  # centre of a symmetric ramp


def test_single_image_file_and_channel_choice(tmp_path):
    p = save(tmp_path / "one.png", np.full((5, 5), 128), "L")
    ds = load_data(str(p))
    assert ds.x.shape == (1, 1, 5, 5) and ds.y is None
    np.testing.assert_allclose(ds.x, 128 / 255, rtol=1e-6)
    rgb = load_data(str(p), input_shape=(3, 5, 5))  # a grey image fed to an RGB model
    assert rgb.x.shape == (1, 3, 5, 5)


def test_matches_torchvision_imagenet_pipeline(tmp_path, torch, require, rng):
    tv = require("torchvision")
    T = tv.transforms
    for c in ("a", "b"):
        for i, size in enumerate([(37, 50), (50, 41)]):
            save(tmp_path / "r" / c / f"{i}.jpg", rng.integers(0, 256, size + (3,)))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ref = tv.datasets.ImageFolder(str(tmp_path / "r"), T.Compose(
        [T.Resize(32), T.CenterCrop(24), T.ToTensor(), T.Normalize(mean, std)]))
    ds = load_data(str(tmp_path / "r"), resize=32, crop=24, mean=mean, std=std)
    x_ref = np.stack([ref[i][0].numpy() for i in range(len(ref))])
    assert ds.y.tolist() == [ref[i][1] for i in range(len(ref))]
    np.testing.assert_allclose(ds.x, x_ref, atol=1e-5)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_data(str(tmp_path / "absent") + "/")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match=r"empty: no images found"):
        load_data(str(tmp_path / "empty"))


def test_mixed_layout(classes):
    root, _ = classes
    save(root / "stray.png", np.zeros((6, 8, 3)))
    with pytest.raises(DataError, match=r"mixes images \(stray\.png"):
        load_data(str(root))


def test_corrupt_image(tmp_path):
    save(tmp_path / "f" / "ok.png", np.zeros((4, 4)))
    (tmp_path / "f" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"bad\.png: cannot read the image"):
        load_data(str(tmp_path / "f"))


def test_sizes_differ_without_resize(tmp_path):
    save(tmp_path / "f" / "a.png", np.zeros((4, 4)))
    save(tmp_path / "f" / "b.png", np.zeros((5, 4)))
    with pytest.raises(DataError, match="different sizes.*resize"):
        load_data(str(tmp_path / "f"))


def test_crop_larger_than_image(tmp_path):
    save(tmp_path / "f" / "a.png", np.zeros((4, 4)))
    with pytest.raises(DataError, match=r"a\.png: image of 4x4 pixels is smaller than the crop 8x8"):
        load_data(str(tmp_path / "f"), crop=8)


def test_wrong_channel_count_and_mean_length(tmp_path, classes):
    root, _ = classes
    with pytest.raises(DataError, match="expects 4 input channels"):
        load_data(str(root), input_shape=(4, 6, 8))
    with pytest.raises(DataError, match="mean has 2 values but the images have 3 channels"):
        load_data(str(root), mean=(0.1, 0.2))
    with pytest.raises(DataError, match="std must be non-zero"):
        load_data(str(root), std=0)


def test_folder_shape_must_fit_model(tmp_path, classes):
    root, _ = classes
    with pytest.raises(DataError, match=r"expects \(N, 784\)"):
        load_data(str(root), input_shape=(784,))


def test_missing_pillow_is_a_data_error(tmp_path, monkeypatch):
    save(tmp_path / "f" / "a.png", np.zeros((4, 4)))
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import Image` fail
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(DataError, match="needs Pillow: run `pip install Pillow`"):
        load_data(str(tmp_path / "f"))
