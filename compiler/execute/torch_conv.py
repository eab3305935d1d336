"""Convolution through torch, when it is installed: the executor's fast engine.

The NumPy kernels (``kernels``) are the oracle; this module only replaces
``Conv2d`` (89 % of a calibration's time with the im2col GEMM, issue 17) by
``torch.nn.functional.conv2d`` on the same float32 arrays (zero-copy in and
out), with the same ONNX semantics: asymmetric padding is a separate constant
pad, grouped and depthwise convolutions are torch's ``groups``. The sums are
the same terms in another order, so the two engines agree to float32 rounding
of k-term sums (tests/compiler/test_execute_engines.py holds them to that
bound), not bit for bit. A non-finite output raises FloatingPointError, as
NumPy's errstate does in the oracle, so the executor names the node.

torch is imported on the first convolution, never at import time: the
compiler stays importable, and runs, without it (``engine_name`` then falls
back to NumPy). ``SNNC_ENGINE=numpy`` forces the NumPy kernels everywhere.
torch's thread count is left as the caller set it (``torch.set_num_threads``).
"""
from __future__ import annotations

import importlib.util
import math
import os

import numpy as np

from snnc.compiler.ir import ops

ENV = "SNNC_ENGINE"


def torch_available() -> bool:
    """True when torch can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a blocked or half-imported torch (sys.modules["torch"] = None)
        return False


def engine_name(requested: str = "fast") -> str:
    """The engine that runs: "numpy", or "torch" for ``"fast"`` when torch is installed and not disabled."""
    if requested not in ("fast", "numpy", "torch"):
        raise ValueError(f"unknown executor engine {requested!r}; choose fast, numpy or torch")
    if requested == "fast":
        forced = os.environ.get(ENV, "").strip().lower()
        return "torch" if forced != "numpy" and torch_available() else "numpy"
    return requested


def _tensor(a: np.ndarray):
    import torch
    a = np.ascontiguousarray(a, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def conv2d(op: ops.Conv2d, x: np.ndarray) -> np.ndarray:
    """ONNX Conv (NCHW, float32) by ``torch.nn.functional.conv2d``; same contract as ``kernels.conv2d``."""
    import torch
    import torch.nn.functional as F
    pt, pl, pb, pr = op.padding
    xt = _tensor(x)
    if (pt, pl) != (pb, pr):
        xt, pad = F.pad(xt, (pl, pr, pt, pb)), (0, 0)
    else:
        pad = (pt, pl)
    bias = None if op.bias is None else _tensor(op.bias)
    with torch.no_grad():
        y = F.conv2d(xt, _tensor(op.weight), bias, tuple(op.stride), pad, tuple(op.dilation), op.groups)
        # NumPy's errstate would raise (the executor then names the node); the sum is one cheap reduction,
        # finite whenever every term is (short of |sum| > 3e38), and the exact test confirms
        if not math.isfinite(float(y.sum())) and not bool(torch.isfinite(y).all()):
            raise FloatingPointError("overflow or invalid value in the convolution (torch engine)")
    return np.ascontiguousarray(y.numpy(), dtype=np.float32)
