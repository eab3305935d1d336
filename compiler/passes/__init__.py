"""Conversion passes (ANN graph -> folded integrate-and-fire graph), one module each.

The order lives in ``pipeline.PIPELINE``; every pass is a pure function
``Graph -> PassResult(graph, changes, info)``.
"""
from snnc.compiler.passes.base import PassResult

__all__ = ["PassResult"]
