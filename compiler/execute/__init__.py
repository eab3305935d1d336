"""NumPy reference executor for the IR's ANN semantics (the oracle for every pass).

``run(graph, x)`` evaluates the graph on a batch ``x`` of shape (N, *input_shape)
node by node in topological order. ``engine="numpy"`` (the default, the
oracle) uses the NumPy kernels only; ``engine="torch"`` runs convolutions
through torch (``torch_conv``); ``engine="fast"`` is "torch" when torch is
installed and ``SNNC_ENGINE`` is not "numpy", else the NumPy engine.
``runner(graph)`` (the calibration's passes: fitting, clipping check,
statistics) runs the whole graph as one torch program (``torch_graph``) on the
torch engine, node by node with the NumPy kernels otherwise.
``IFNeuron`` nodes evaluate as their ANN meaning, clip(z, 0, theta) (the clip-ANN). Intermediates are freed as soon as
their last consumer has run unless asked for with ``keep``.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Optional, Union

import numpy as np

from snnc.compiler.errors import DataError
from snnc.compiler.execute import torch_conv
from snnc.compiler.execute.kernels import KERNELS
from snnc.compiler.execute.torch_conv import engine_name
from snnc.compiler.ir import Conv2d, Graph, Input, Op

__all__ = ["run", "runner", "apply", "KERNELS", "ENGINES", "engine_name", "predict", "overflow_error"]

#: kernel table per engine: the torch engine differs from the oracle in the convolution only
ENGINES = {"numpy": KERNELS, "torch": {**KERNELS, Conv2d: torch_conv.conv2d}}


def apply(op: Op, *inputs: np.ndarray, engine: str = "numpy") -> np.ndarray:
    """Evaluate one op on batched inputs (N, *shape) with the kernels of ``engine`` (numpy / torch)."""
    return ENGINES[engine][type(op)](op, *inputs)


def _feeds(graph: Graph, x) -> dict[str, np.ndarray]:
    ins = graph.inputs
    if not isinstance(x, Mapping):
        if len(ins) != 1:
            raise DataError(f"graph has {len(ins)} inputs; pass a dict {{name: array}}")
        x = {ins[0].name: x}
    feeds = {}
    for node in ins:
        if node.name not in x:
            raise DataError(f"no data for graph input {node.name!r}")
        a = np.asarray(x[node.name], dtype=np.float32)
        if tuple(a.shape[1:]) != tuple(node.shape):
            raise DataError(f"input {node.name!r} expects samples of shape {node.shape}, "
                            f"got an array of shape {a.shape} (need (N, {', '.join(map(str, node.shape))}))")
        feeds[node.name] = a
    return feeds


def run(graph: Graph, x, keep: Union[Iterable[str], str, None] = None,
        hook: Optional[Callable[[str, np.ndarray], Optional[np.ndarray]]] = None,
        engine: str = "numpy") -> dict[str, np.ndarray]:
    """Evaluate ``graph`` on ``x``; return graph outputs plus nodes named in ``keep`` ("all": every node).

    ``hook(name, value)`` is called after every node; if it returns an array,
    that array replaces the node's value downstream (calibration uses this).
    Kernels and hooks run with NumPy's overflow / invalid / divide errors raised.
    ``engine``: "numpy" (the oracle), "torch", or "fast" (torch when installed).
    """
    engine = engine_name(engine)
    values = _feeds(graph, x)
    keep_all = keep == "all"
    keep_set = set(graph.outputs) | (set() if keep is None or keep_all else set(keep))
    last_use = {}
    for i, node in enumerate(graph.nodes):
        for src in node.inputs:
            last_use[src] = i
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # once per run: 30 us per node otherwise
        for i, node in enumerate(graph.nodes):
            if not isinstance(node.op, Input):
                values[node.name] = _apply_finite(node, [values[s] for s in node.inputs], engine)
            if hook is not None:
                replaced = hook(node.name, values[node.name])
                if replaced is not None:
                    values[node.name] = replaced
            if not keep_all:
                for src in set(node.inputs):
                    if last_use.get(src) == i and src not in keep_set:
                        del values[src]
    return values if keep_all else {k: values[k] for k in keep_set}


def _apply_finite(node, inputs, engine: str = "numpy") -> np.ndarray:
    """``apply`` with NumPy's floating-point trouble (raised under ``run``'s errstate) as a DataError naming
    the node (never a RuntimeWarning)."""
    try:
        return apply(node.op, *inputs, engine=engine)
    except FloatingPointError as e:
        raise overflow_error(node, str(e)) from None


def overflow_error(node, detail: str) -> DataError:
    """The DataError of a node whose value is not finite on the data (every engine raises this one)."""
    return DataError(f"node {node.name!r} ({node.type}) overflows float32 on this data ({detail}); check the "
                     f"input scaling (normalise the data as in training) and the model weights")


def runner(graph: Graph, engine: str = "fast") -> Callable:
    """``fn(x, hook=None) -> {output name: array}``: ``run`` on ``graph`` with the engine chosen once.

    With the torch engine the whole graph runs as one torch program (``torch_graph``; hooks get zero-copy
    array views), else ``run`` with ``engine``'s kernels.
    """
    if engine_name(engine) == "torch":
        from snnc.compiler.execute.torch_graph import TorchGraph
        return TorchGraph(graph).run_numpy
    return lambda x, hook=None: run(graph, x, hook=hook, engine=engine)


def predict(graph: Graph, x, batch_size: int = 256) -> np.ndarray:
    """Logits of the graph's first output for every sample, in batches."""
    out = graph.outputs[0]
    parts = [run(graph, x[i:i + batch_size])[out] for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0,) + graph.node(out).shape, np.float32)
