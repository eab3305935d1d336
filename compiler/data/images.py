"""Image folders (Pillow): ImageNet-style class subfolders, a flat folder, or one image file.

Layouts::

    root/<class name>/<image>   labelled: classes are the sorted subfolder names, y = their index
    root/<image>                unlabelled (y is None)

Each image goes through, in order:

1. colour mode: ``L`` for one channel, ``RGB`` for three (from the model's
   ``input_shape`` when given, else ``L`` if every image is greyscale);
2. ``resize``: an int scales the shorter side to it (aspect kept, bilinear,
   longer side truncated), a pair ``(h, w)`` resizes exactly;
3. ``crop``: centre crop to ``crop`` (int or ``(h, w)``);
4. ``x = pixel / 255`` (so ``[0, 1]``), channels first;
5. ``x = (x - mean[c]) / std[c]`` when ``mean`` / ``std`` are given (scalar or per channel).

This is torchvision's ``Resize(resize), CenterCrop(crop), ToTensor(), Normalize(mean, std)``
(the ImageNet evaluation pipeline, e.g. resize=256, crop=224,
mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)).

With an ``input_shape (C, H, W)`` and no ``crop``, the centre ``(H, W)`` is
cropped after resizing (to ``resize`` when given, else the shorter side to
``max(H, W)``): ``resize=256`` for a 224x224 model is the ImageNet pipeline.
With ``n`` smaller than the number of images, ``n`` images evenly spaced over
the sorted list are loaded (so every class is represented), not the first ``n``.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from snnc.compiler.errors import DataError
from snnc.compiler.progress import progress

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
Size = Union[int, Sequence[int], None]


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def list_images(root: Path) -> Tuple[List[Path], Optional[np.ndarray], Optional[Tuple[str, ...]]]:
    """``(files, labels or None, class names or None)`` of a folder or a single image file."""
    if root.is_file():
        return [root], None, None
    loose = sorted(p for p in root.iterdir() if is_image_file(p))
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and any(is_image_file(p) for p in d.iterdir()))
    if loose and classes:
        raise DataError(f"{root}: mixes images ({loose[0].name}, ...) with class subfolders ({classes[0]}, ...); "
                        f"use either class subfolders (labelled) or a flat folder of images (unlabelled)")
    if loose:
        return loose, None, None
    if not classes:
        raise DataError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))} "
                        f"directly inside it or in class subfolders)")
    files, labels = [], []
    for i, c in enumerate(classes):
        members = sorted(p for p in (root / c).iterdir() if is_image_file(p))
        files += members
        labels += [i] * len(members)
    return files, np.asarray(labels, np.int64), tuple(classes)


def load_images(root: Path, input_shape: Optional[Sequence[int]] = None, n: Optional[int] = None,
                resize: Size = None, crop: Size = None, mean=None, std=None):
    """``(x float32 (N, C, H, W), y or None, classes or None)`` from ``root`` (see the module docstring)."""
    try:
        from PIL import Image  # Pillow: lazy, only image folders need it
    except ImportError:
        raise DataError(f"{root}: reading images needs Pillow: run `pip install Pillow`") from None
    files, labels, classes = list_images(root)
    if n is not None and n < len(files):
        keep = np.unique(np.linspace(0, len(files) - 1, int(n)).round().astype(int))
        files = [files[i] for i in keep]
        labels = None if labels is None else labels[keep]
    if input_shape is not None and len(input_shape) == 3 and crop is None:
        resize = max(input_shape[1:]) if resize is None else resize
        crop = tuple(input_shape[1:])
    channels = int(input_shape[0]) if input_shape is not None and len(input_shape) == 3 else None
    if channels is None:
        channels = 1 if all(_read(Image, f, header_only=True) in _GREY_MODES for f in files) else 3
    if channels not in (1, 3):
        raise DataError(f"{root}: the model expects {channels} input channels; image folders give 1 (L) or 3 (RGB)")
    arrays = [_transform(Image, _read(Image, f), f, channels, resize, crop)
              for f in progress(files, desc=f"reading {root.name}", unit="img")]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"{root}: images have different sizes {sorted(shapes)[:3]}...; pass resize/crop "
                        f"(or the model's input shape) so they all match")
    x = _normalise(np.stack(arrays), mean, std, root)
    return x, labels, classes


def _read(Image, path: Path, header_only: bool = False):
    """The decoded image, or only its colour mode (read from the header) with ``header_only``."""
    try:
        if header_only:
            with Image.open(path) as im:
                return im.mode
        im = Image.open(path)
        im.load()  # decodes and closes the file
        return im
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for bad files
        raise DataError(f"{path}: cannot read the image ({e})") from None


def _pair(size, what: str) -> Tuple[int, int]:
    s = (size, size) if np.isscalar(size) else tuple(size)
    if len(s) != 2 or min(s) < 1:
        raise DataError(f"{what} must be a positive int or (height, width), got {size!r}")
    return int(s[0]), int(s[1])


def _transform(Image, im, path: Path, channels: int, resize: Size, crop: Size) -> np.ndarray:
    im = im.convert("L" if channels == 1 else "RGB")
    if resize is not None:
        if np.isscalar(resize):
            w, h = im.size
            short, long = sorted((w, h))
            new_long = int(int(resize) * long / short)  # truncation, as torchvision's Resize
            size = (int(resize), new_long) if w <= h else (new_long, int(resize))
        else:
            h, w = _pair(resize, "resize")
            size = (w, h)
        im = im.resize(size, Image.BILINEAR)
    if crop is not None:
        ch, cw = _pair(crop, "crop")
        w, h = im.size
        if ch > h or cw > w:
            raise DataError(f"{path}: image of {h}x{w} pixels is smaller than the crop {ch}x{cw}; resize it first")
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))  # as torchvision's CenterCrop
        im = im.crop((left, top, left + cw, top + ch))
    a = np.asarray(im, np.float32) / np.float32(255.0)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _normalise(x: np.ndarray, mean, std, root: Path) -> np.ndarray:
    c = x.shape[1]
    for name, v in (("mean", mean), ("std", std)):
        if v is not None and np.size(v) not in (1, c):
            raise DataError(f"{root}: {name} has {np.size(v)} values but the images have {c} channels")
    if std is not None and np.any(np.asarray(std, np.float32) == 0):
        raise DataError(f"{root}: std must be non-zero, got {std}")
    shape = (1, c, 1, 1)
    if mean is not None:
        x = x - np.broadcast_to(np.asarray(mean, np.float32).reshape(-1), (c,)).reshape(shape)
    if std is not None:
        x = x / np.broadcast_to(np.asarray(std, np.float32).reshape(-1), (c,)).reshape(shape)
    return x.astype(np.float32, copy=False)
