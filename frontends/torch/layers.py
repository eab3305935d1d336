"""Export-friendly, numerically identical stand-ins for torch layers the ONNX exporter refuses.

This module imports torch at module level: load it only from the torch frontend.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F


class ExactAdaptiveAvgPool(torch.nn.Module):
    """``adaptive_avg_pool2d(x, (oh, ow))``, written so that the legacy exporter accepts it.

    Adaptive pooling maps output cell i to input cells floor(i*h/oh) ..
    ceil((i+1)*h/oh) - 1. When oh = k*h this window is the single cell
    floor(i/k): the pool is nearest-neighbour replication (ONNX Resize), which
    the exporter writes while it refuses the non-divisor adaptive pool. Every
    other case (a true pooling) is left to ``adaptive_avg_pool2d``.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        with warnings.catch_warnings():
            # a shape, not a tensor value: static at the export's fixed input shape, so the
            # tracer's "may not generalise" warning (refused elsewhere, tracing.py) is moot here
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            h, w = int(x.shape[-2]), int(x.shape[-1])
        size = self.output_size if isinstance(self.output_size, (tuple, list)) else (self.output_size,) * 2
        oh = h if size[0] is None else int(size[0])
        ow = w if size[1] is None else int(size[1])
        if (oh, ow) != (h, w) and oh % h == 0 and ow % w == 0:
            return F.interpolate(x, size=(oh, ow), mode="nearest")
        return F.adaptive_avg_pool2d(x, (oh, ow))
