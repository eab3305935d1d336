"""Independent oracles shared by the tests."""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import run


def clip_ann(ann, thresholds: dict, x: np.ndarray) -> np.ndarray:
    """The source ANN with each activation clipped at its calibrated per-channel thresholds:
    y = min(relu(z), theta) at every node named in ``thresholds``. The folded unit-threshold
    network must compute the same function (algorithms.md section 3)."""
    th = {k: np.asarray(v, np.float32) for k, v in thresholds.items()}

    def hook(name, v):
        if name in th:
            return np.minimum(v, th[name].reshape((1, -1) + (1,) * (v.ndim - 2)))
    return run(ann, x, hook=hook)[ann.outputs[0]]


def artifact_clip_ann(art, x: np.ndarray) -> np.ndarray:
    """``clip_ann`` of an artifact's source ANN at the thresholds its calibration recorded."""
    return clip_ann(art.ann, {k: v["thresholds"] for k, v in art.meta["calibration"]["layers"].items()}, x)


# ---- float32 tolerances derived from what is computed -------------------------------------------
#
# A float32 sum of k terms t_i, added in any order (any BLAS kernel, any blocking), is within
# gamma_{k-1} * sum|t_i| of the exact sum, gamma_n = n*u / (1 - n*u), u = eps32 / 2 (Higham,
# "Accuracy and Stability of Numerical Algorithms", 2nd ed., eq. 4.4). Two such evaluations, or one
# and the exact value, differ by at most about k * eps32 * sum|t_i|: that is the tolerance, computed
# element by element from the actual operands, never tuned to one CPU.

EPS32 = float(np.finfo(np.float32).eps)


def f32_sum_tol(k: int, abs_sum) -> np.ndarray:
    """Largest difference between two float32 evaluations of k-term sums whose |terms| add to ``abs_sum``."""
    return k * EPS32 * np.asarray(abs_sum, np.float64) + np.finfo(np.float32).tiny


def assert_f32_sums_close(got, want, k: int, abs_sum, err_msg: str = "") -> None:
    """``got`` and ``want`` compute the same k-term sums (float32 in any order, or exactly) elementwise."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (err_msg, got.shape, want.shape)
    diff, tol = np.abs(got - want), np.broadcast_to(f32_sum_tol(k, abs_sum), got.shape)
    bad = ~(diff <= tol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, diff - tol, -np.inf)), got.shape)
        raise AssertionError(f"{err_msg}: {int(bad.sum())} of {bad.size} elements differ by more than "
                             f"k*eps32*sum|terms| (k={k}); worst at {i}: |{got[i]} - {want[i]}| = {diff[i]:.3g} "
                             f"> {tol[i]:.3g}")


def abs_op(op):
    """The op with absolute parameters and no clipping (see ``abs_graph``)."""
    from dataclasses import replace
    from snnc.compiler.ir import BatchNorm, Identity
    if op.type in ("ReLU", "Clip", "IFNeuron"):
        return Identity()
    arrays = {k: np.abs(v) for k, v in op.arrays().items() if v is not None and v.dtype.kind == "f"}
    if isinstance(op, BatchNorm):
        arrays["mean"] = -arrays["mean"]
    if op.type == "Pad":
        return replace(op, value=abs(op.value), **arrays)
    return replace(op, **arrays)


def abs_graph(graph):
    """The graph with absolute parameters and no clipping: run on |x| it bounds, at every node, the sum of
    |terms| that node's float32 evaluation adds up, through every layer before it (|W| |h| + |b| for a
    synaptic op, since |h| <= the bound of the layer below; ReLU, clips, max-pools are 1-Lipschitz and
    become identities, a batch norm gamma (x - mean) / sigma + beta bounds as |gamma| (x + |mean|) / sigma
    + |beta|). k * eps32 * run(abs_graph(g), |x|) bounds the whole network's float32 error to first
    order, with k the largest number of terms added along any input-output path (``path_terms``)."""
    return graph.rebuild([(n.name, abs_op(n.op), n.inputs) for n in graph.nodes])


def conv_terms(op) -> int:
    """Terms of one conv / linear output: weights per output channel plus the bias."""
    return int(np.prod(op.weight.shape[1:])) + 1


def path_terms(graph, output=None) -> int:
    """The largest number of float32 terms added along any input-output path: fan-in (weights per output
    plus bias) summed over the synaptic ops, window sizes for pools and resizes, operand counts for adds."""
    from snnc.compiler.ir import node_macs

    def fan_in(n):
        if n.type in ("Conv2d", "Linear"):
            return node_macs(graph, n) // max(1, int(np.prod(n.shape))) + 1
        if n.type == "GlobalAvgPool2d":
            return int(np.prod(graph.node(n.inputs[0]).shape[1:]))
        if n.type == "Resize":   # 4 taps whose weights come from float32 coordinates up to the side L: off by ~L eps
            return 4 + 2 * max(graph.node(n.inputs[0]).shape[1:])
        return {"Add": len(n.inputs), "AvgPool2d": int(np.prod(getattr(n.op, "kernel", 1)))}.get(n.type, 1)
    most: dict[str, int] = {}
    for n in graph.nodes:
        most[n.name] = fan_in(n) + max((most[s] for s in n.inputs), default=0)
    return max(most[o] for o in ([output] if output else graph.outputs))


def assert_network_close(graph, x, got, want, err_msg: str = "", output=None, k=None) -> None:
    """``got`` and ``want`` are two float32 evaluations (any kernels, any order) of ``graph``'s output on
    ``x``; ``k`` (default ``path_terms(graph)``) when one side adds more terms (a fused rewrite)."""
    out = output or graph.outputs[0]
    assert_f32_sums_close(got, want, k or path_terms(graph, out), _abs_values(graph, x)[out], err_msg)


_LAST: list = []   # (graph, x, values): one entry, holding both so their ids stay theirs


def _abs_values(graph, x) -> dict:
    """run(abs_graph(graph), |x|) at every node, once per (graph, x): a test comparing every tensor of a
    network asks for all of them."""
    if not (_LAST and _LAST[0][0] is graph and _LAST[0][1] is x):
        _LAST[:] = [(graph, x, _run_unchecked(abs_graph(graph), np.abs(x)))]
    return _LAST[0][2]


def _run_unchecked(graph, x) -> dict:
    """Every node's value, where a bound beyond float32 is inf (the executor's ``run`` refuses overflow
    as a DataError; a bound that large certifies nothing, so such a node's comparison only checks that
    both sides are finite where they agree on it)."""
    from snnc.compiler.execute import apply
    from snnc.compiler.ir import Input
    values = {graph.inputs[0].name: np.asarray(x, np.float32)}
    with np.errstate(over="ignore", invalid="ignore"):
        for n in graph.nodes:
            if not isinstance(n.op, Input):
                values[n.name] = apply(n.op, *[values[i] for i in n.inputs])
    return values
