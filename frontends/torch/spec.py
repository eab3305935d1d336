"""Model specs on the command line: ``torchvision:NAME`` and ``FILE.py:CLASS``.

``torchvision:resnet18``
    ``torchvision.models.get_model("resnet18")``. ``--weights FILE.pth`` loads a
    local state dict; ``--weights DEFAULT`` asks torchvision for its pretrained
    weights (downloaded once into ``$TORCH_HOME``; offline this fails with a
    ModelLoadError asking for a local .pth); no ``--weights`` keeps torchvision's
    random initialisation.
``my_model.py:Net``
    imports ``my_model.py`` (this runs the file's code: it is the user's own
    model definition, executed as ``python my_model.py`` would be) and calls
    ``Net()`` without arguments.

``--input-shape`` includes the batch axis, PyTorch style (``1,3,224,224``); the
batch size is ignored (the IR is per sample).
"""
from __future__ import annotations

import difflib
import importlib.util
import logging
import sys
from pathlib import Path

from snnc.compiler.errors import ModelLoadError, UsageError
from snnc.compiler.files import input_path
from snnc.frontends.torch.weights import load_weights

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "DEFAULT"


def load_model_spec(spec: str, weights=None, input_shape=None):
    """``torchvision:NAME`` / ``FILE.py:CLASS`` (+ weights, input shape) -> snnc Graph."""
    from snnc.frontends.torch.export import from_torch

    shape = parse_input_shape(input_shape, spec)
    module = build_module(spec, weights)
    return from_torch(module, shape, name=spec)


def spec_to_onnx(spec: str, weights=None, input_shape=None):
    """The in-memory ONNX model of a PyTorch spec (for ``snnc inspect`` and ONNX-level tools)."""
    from snnc.frontends.torch.export import example_tensor, to_onnx
    from snnc.frontends.torch.support import check_supported

    shape = parse_input_shape(input_shape, spec)
    module = build_module(spec, weights)
    check_supported(module, spec)
    return to_onnx(module, example_tensor(shape, spec), spec)[0]


def build_module(spec: str, weights=None):
    """Instantiate the module a spec names and load its weights."""
    kind, _, target = str(spec).partition(":")
    if kind == "torchvision" and target:
        module = torchvision_module(target, weights)
    elif kind.endswith(".py") and target:
        module = class_from_file(Path(kind), target)
    else:
        raise UsageError(f"model spec {spec!r} is not FILE.onnx, torchvision:NAME or FILE.py:CLASS")
    if weights is None:
        log.warning("%s: no --weights given; using the model's random initialisation", spec)
    elif str(weights) != DEFAULT_WEIGHTS:
        load_weights(module, weights, name=spec)
    elif kind != "torchvision":
        raise UsageError(f"--weights {DEFAULT_WEIGHTS} works only with torchvision:NAME specs, not {spec}")
    return module


def torchvision_module(name: str, weights=None):
    """A torchvision classifier by name; ``weights == "DEFAULT"`` downloads the pretrained ones."""
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"choose one of: {', '.join(names)}"
        raise ModelLoadError(f"torchvision has no classification model {name!r}; {hint}")
    if str(weights) != DEFAULT_WEIGHTS:
        return torchvision.models.get_model(name, weights=None)
    try:
        return torchvision.models.get_model(name, weights=DEFAULT_WEIGHTS)
    except Exception as e:  # noqa: BLE001 - URLError, OSError, RuntimeError(hash) ...
        raise ModelLoadError(f"cannot download torchvision's DEFAULT weights for {name} "
                             f"({type(e).__name__}: {str(e)[:200]}); the weights cannot be fetched "
                             f"without network access: download them elsewhere and pass the local "
                             f".pth file with --weights") from None


def class_from_file(path: Path, class_name: str):
    """Import ``path`` (runs its code) and instantiate ``class_name()``."""
    import torch

    input_path(path, "model file")
    mod_name = f"snnc_user_model_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses / pickling look the module up here
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file failed to import
        raise ModelLoadError(f"importing {path} failed: {type(e).__name__}: {e}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        defined = sorted(k for k, v in vars(module).items()
                         if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod_name)
        raise ModelLoadError(f"{path} defines no class {class_name!r} "
                             f"(nn.Module classes defined there: {', '.join(defined) or 'none'})")
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ModelLoadError(f"{path}:{class_name} is a {type(cls).__name__}, not a torch.nn.Module class")
    try:
        return cls()
    except Exception as e:  # noqa: BLE001
        raise ModelLoadError(f"{path}:{class_name}() failed (the class must be constructible without "
                             f"arguments): {type(e).__name__}: {e}") from None


def parse_input_shape(input_shape, spec: str = "model") -> tuple[int, ...]:
    """``"1,3,224,224"`` / ``(1, 3, 224, 224)`` -> tuple of positive ints, batch axis first."""
    if input_shape is None or input_shape == "":
        raise UsageError(f"{spec}: the input shape is needed to trace a PyTorch model; "
                         f"pass --input-shape N,C,H,W (e.g. 1,3,224,224)")
    parts = input_shape.replace("x", ",").split(",") if isinstance(input_shape, str) else list(input_shape)
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise UsageError(f"input shape {input_shape!r} is not a comma-separated list of integers "
                         f"such as 1,3,224,224") from None
    if len(shape) < 2 or min(shape) <= 0:
        raise UsageError(f"input shape {input_shape!r} must be N,C,H,W (or N,F) with positive sizes")
    return shape
