"""Reject, before exporting, modules whose activations or layers have no IF-neuron equivalent.

An integrate-and-fire neuron with one binary spike per step and reset by
subtraction computes, as a rate, clip(z, 0, theta) (algorithms.md section 1).
That matches the ReLU family (ReLU, ReLU6, Hardtanh(0, a)) and nothing else:
a negative or smooth response (SiLU, GELU, hard-swish, sigmoid gates) cannot
be a firing rate, and a per-sample normalisation (LayerNorm, GroupNorm) or
attention multiplies two activations, which no synapse does.

The scan is by module type (``UNSUPPORTED``), so it names the offending
submodules by their path in the model. Activations called functionally
(``F.gelu``) are not modules; the ONNX frontend rejects those by op type.
"""
from __future__ import annotations

from snnc.compiler.errors import UnsupportedModelError

_NOT_RATE = "is not a ReLU-family activation (an IF neuron's rate is clip(z, 0, theta))"
_PRODUCT = "multiplies activations or normalises per sample (no fixed synapse computes it)"

# torch.nn class name -> why it cannot become integrate-and-fire neurons
UNSUPPORTED: dict[str, str] = {
    "Hardswish": f"hard-swish x*relu6(x+3)/6 {_NOT_RATE}",
    "Hardsigmoid": f"hard-sigmoid gate {_NOT_RATE}",
    "SiLU": f"SiLU/swish x*sigmoid(x) {_NOT_RATE}",
    "GELU": f"GELU {_NOT_RATE}",
    "Sigmoid": f"sigmoid {_NOT_RATE}",
    "Tanh": f"tanh {_NOT_RATE}",
    "ELU": f"ELU {_NOT_RATE}",
    "SELU": f"SELU {_NOT_RATE}",
    "CELU": f"CELU {_NOT_RATE}",
    "LeakyReLU": f"leaky ReLU (negative slope) {_NOT_RATE}",
    "PReLU": f"PReLU (negative slope) {_NOT_RATE}",
    "RReLU": f"RReLU (negative slope) {_NOT_RATE}",
    "Softplus": f"softplus {_NOT_RATE}",
    "Mish": f"mish {_NOT_RATE}",
    "Softmax": f"softmax {_NOT_RATE}",
    "LayerNorm": f"LayerNorm {_PRODUCT}",
    "GroupNorm": f"GroupNorm {_PRODUCT}",
    "LocalResponseNorm": f"LocalResponseNorm {_PRODUCT}",
    "MultiheadAttention": f"attention {_PRODUCT}",
}

_HINT = ("snnc converts ReLU-family activations (ReLU, ReLU6, clip to [0, a]) with conv, linear, "
         "batch-norm, pooling, add and concat; retrain the model with ReLU or choose a ReLU model")


def unsupported_modules(module) -> dict[str, list[str]]:
    """``{class name: [submodule paths]}`` for every submodule that is (a subclass of) one in ``UNSUPPORTED``."""
    found: dict[str, list[str]] = {}
    for path, sub in module.named_modules():
        # match subclasses too (torchvision's LayerNorm2d is an nn.LayerNorm)
        kind = next((c.__name__ for c in type(sub).__mro__ if c.__name__ in UNSUPPORTED), None)
        if kind is not None:
            found.setdefault(kind, []).append(path or "<root>")
    return found


def check_supported(module, name: str = "model") -> None:
    """Raise UnsupportedModelError listing every unsupported activation / layer of ``module``."""
    found = unsupported_modules(module)
    if not found:
        return
    parts = []
    for kind, paths in found.items():
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        parts.append(f"{kind} at {', '.join(paths[:3])}{more}: {UNSUPPORTED[kind]}")
    raise UnsupportedModelError(f"{name} uses {len(found)} unsupported activation/layer type(s) "
                                f"({', '.join(found)}):\n  " + "\n  ".join(parts) + f"\n{_HINT}")
