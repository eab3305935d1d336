"""Data-loading options shared by ``snnc compile``, ``snnc simulate`` and ``snnc run``.

Image folders (and single image files) are resized, centre-cropped, scaled
to [0, 1] and normalised per channel, as torchvision's ``Resize, CenterCrop,
ToTensor, Normalize``::

    --resize 256 --crop 224 --normalize imagenet     # the ImageNet evaluation pipeline
    --mean 0.1307 --std 0.3081                       # one value for every channel

``compile`` stores what it used in the artifact (``meta["preprocessing"]``);
``simulate`` and ``run`` apply that by default, option by option: an option
given on their command line replaces the artifact's value for that option
(``--normalize none`` drops the stored mean/std). Arrays (.npy/.npz) and
``mnist`` are used as stored: preprocessing options given for them are an
error, and stored ones are skipped with a warning.
"""
from __future__ import annotations

import logging

from snnc.compiler.data import is_image_spec
from snnc.compiler.data.preprocess import KEYS, PRESETS, describe, preprocessing_record, preset
from snnc.compiler.errors import UsageError

log = logging.getLogger(__name__)
_IMAGENET = ", ".join(f"{k} {'/'.join(f'{v:g}' for v in vals)}" for k, vals in PRESETS["imagenet"].items())


def add_arguments(parser, from_artifact: bool = False) -> None:
    """Add --resize, --crop, --mean, --std and --normalize (one argument group)."""
    default = ("default: the artifact's, i.e. what `snnc compile` calibrated with" if from_artifact
               else "stored in the artifact; `snnc simulate` / `run` reuse it")
    g = parser.add_argument_group("image preprocessing (image folders and image files only)", default)
    g.add_argument("--resize", metavar="N|H,W", default=None,
                   help="scale the shorter side to N (aspect kept) or resize to HxW; default: the shorter side "
                        "to the model's input size")
    g.add_argument("--crop", metavar="N|H,W", default=None,
                   help="centre crop after resizing (default: the model's input HxW)")
    g.add_argument("--mean", metavar="M[,M,M]", default=None,
                   help="subtract per channel after scaling pixels to [0, 1]")
    g.add_argument("--std", metavar="S[,S,S]", default=None, help="then divide per channel")
    g.add_argument("--normalize", metavar="PRESET", default=None, choices=sorted(PRESETS),
                   help=f"mean/std preset: imagenet ({_IMAGENET}) or none")


def given(args) -> dict:
    """The options given on the command line: {key: value, or None where --normalize none clears it}."""
    out = {k: getattr(args, k, None) for k in KEYS if getattr(args, k, None) is not None}
    name = getattr(args, "normalize", None)
    if name is not None:
        both = [k for k in ("mean", "std") if k in out]
        if both:
            raise UsageError(f"--normalize {name} sets mean and std; drop --{' and --'.join(both)} or --normalize")
        values = preset(name)
        out.update({"mean": values.get("mean"), "std": values.get("std")})
    return out


def preprocessing(args) -> dict:
    """The validated preprocessing record of the command line (``snnc compile``)."""
    return preprocessing_record({k: v for k, v in given(args).items() if v is not None})


def load_kwargs(args, meta: dict) -> dict:
    """``load_data`` keyword arguments for evaluation: the artifact's record updated by the command line."""
    explicit = given(args)
    stored = dict(meta.get("preprocessing") or {})
    if stored and not is_image_spec(args.data):
        log.warning("the network was calibrated with preprocessing (%s) for image files; %s is not an image "
                    "folder and is used as stored", describe(stored), args.data)
        stored = {}
    merged = {k: v for k, v in {**stored, **explicit}.items() if v is not None}
    record = preprocessing_record(merged)
    if stored:
        log.info("preprocessing %s: %s", args.data, describe(record))
    return record
