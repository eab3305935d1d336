"""ONNX model -> snnc IR graph: scan, fold constants, run handlers in order.

``scan`` finds the problems visible from op types alone (unsupported ops,
activations an IF neuron cannot represent, custom domains); ``convert_all``
adds those only conversion finds (attribute values, run-time operands), and
``load`` raises them all in one error, the list ``snnc inspect`` shows.
``convert`` walks the nodes in topological order: a node whose inputs are all
constants is evaluated with NumPy (:mod:`~snnc.frontends.onnx.fold`), every
other node goes to its registered handler. In ``lenient`` mode (``snnc
inspect``) a failing node is recorded and, when it keeps its input's shape
(per ONNX shape inference), passed through so that later nodes still convert.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import Optional

import numpy as np
import onnx
from onnx import numpy_helper

from snnc.compiler.errors import GraphError, SnncError, UnsupportedModelError
from snnc.compiler.ir import Graph
from snnc.compiler.progress import progress
from snnc.frontends.onnx.context import Context
from snnc.frontends.onnx.fold import FOLDERS
from snnc.frontends.onnx.loader import graph_inputs, opset_of
from snnc.frontends.onnx.registry import HANDLERS, UNREPRESENTABLE, _load_handlers, activation_message, attrs
from snnc.frontends.onnx.validate import problems_error

log = logging.getLogger(__name__)
FINAL_OK = ("Softmax", "LogSoftmax")


def _problem(node: onnx.NodeProto, kind: str, message: str) -> dict:
    return {"node": node.name or node.output[0], "op": node.op_type, "kind": kind, "message": message}


def scan(proto: onnx.ModelProto) -> list[dict]:
    """Every node snnc cannot convert, as {"node", "op", "kind", "message"} (kind: op | activation | domain)."""
    _load_handlers()
    const = {i.name for i in proto.graph.initializer}
    outputs = {o.name for o in proto.graph.output}
    problems = []
    for node in proto.graph.node:
        ins = [i for i in node.input if i]
        name = node.name or node.output[0]
        if node.op_type == "Shape" or (node.op_type in FOLDERS and all(i in const for i in ins)):
            const.update(node.output)
        elif node.domain not in ("", "ai.onnx"):
            problems.append(_problem(node, "domain", f"op {node.domain}::{node.op_type} in node {name!r} is from a "
                                                     f"custom domain; export with standard ONNX ops"))
        elif node.op_type in UNREPRESENTABLE and not (node.op_type in FINAL_OK and node.output[0] in outputs):
            problems.append(_problem(node, "activation", activation_message(node.op_type, name)))
        elif node.op_type not in HANDLERS:
            problems.append(_problem(node, "op", f"op {node.op_type} in node {name!r} is not supported "
                                                 f"(see the supported-op table in README.md)"))
    return problems


def convert(proto: onnx.ModelProto, shapes: dict, meta: dict, lenient: bool = False
            ) -> tuple[Graph, list[dict]]:
    """IR graph of ``proto`` with per-sample input ``shapes``; problems met (lenient mode only)."""
    _load_handlers()
    g = proto.graph
    ctx = Context(uses=Counter(i for n in g.node for i in n.input if i),
                  graph_outputs=tuple(o.name for o in g.output), opset=opset_of(proto))
    for init in g.initializer:
        try:
            with np.errstate(all="raise"):
                ctx.bind(init.name, numpy_helper.to_array(init))
        except FloatingPointError:
            raise GraphError(f"initializer {init.name!r} does not fit in float32 (values up to "
                             f"{np.max(np.abs(numpy_helper.to_array(init))):g}); valid: |values| < 3.4e38") from None
    for vi in graph_inputs(proto):
        ctx.add_input(vi.name, shapes[vi.name])
    inferred = _inferred_shapes(proto) if lenient else {}
    problems: list[dict] = []
    skipped = 0
    for node in progress(g.node, desc="import ONNX", unit="node"):
        if lenient and any(i and i not in ctx.values for i in node.input):
            skipped += 1  # downstream of a node that could not be converted
            continue
        try:
            _convert_node(ctx, node)
        except SnncError as e:
            if not lenient:
                raise
            problems.append(_problem(node, "invalid" if isinstance(e, GraphError) else "op", str(e)))
            _pass_through(ctx, node, inferred)
    outs = _outputs(ctx, g, lenient)
    notes = list(meta.get("notes", [])) + ctx.notes
    if skipped:
        notes.append(f"{skipped} node(s) that read outputs of unsupported nodes were not converted")
    log.debug("converted %d ONNX nodes into %d IR nodes", len(g.node), len(ctx.spec))
    graph = Graph.build(ctx.spec, outs, {**meta, "notes": notes, "onnx_tensors": dict(ctx.tensor_map)})
    return graph, problems


def _convert_node(ctx: Context, node: onnx.NodeProto) -> None:
    """Fold or convert one node; NumPy floating-point trouble (overflow, division by zero, invalid value)
    on the model's constants is a GraphError naming the node, never a RuntimeWarning."""
    try:
        with np.errstate(all="raise"):
            _convert_one(ctx, node)
    except FloatingPointError as e:
        raise GraphError(f"node {node.name or node.output[0]!r} ({node.op_type}): its constants give a "
                         f"non-finite result ({e}); valid: weights and constants whose products, quotients "
                         f"and casts to float32 stay finite") from None


def _convert_one(ctx: Context, node: onnx.NodeProto) -> None:
    ins = [i for i in node.input if i]
    if node.op_type in FOLDERS and all(ctx.const(i) is not None for i in ins):
        try:
            vals = FOLDERS[node.op_type](attrs(node), *[ctx.const(i) if i else None for i in node.input])
        except FloatingPointError:
            raise
        except Exception as e:  # noqa: BLE001 - numpy errors on malformed constants
            raise UnsupportedModelError(f"cannot evaluate constant node {node.name or node.output[0]!r} "
                                        f"({node.op_type}): {e}") from None
        for t, v in zip(node.output, vals):
            ctx.bind(t, np.asarray(v))
        log.debug("folded constant node %s (%s)", node.name or node.output[0], node.op_type)
        return
    name = node.name or node.output[0]
    h = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    if h is None:
        msg = activation_message(node.op_type, name) if node.op_type in UNREPRESENTABLE else \
            f"op {node.op_type} in node {name!r} is not supported"
        raise UnsupportedModelError(msg)
    h.fn(ctx, node)


def _inferred_shapes(proto: onnx.ModelProto) -> dict:
    try:
        inf = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is only a hint here
        return {}
    out = {}
    for vi in list(inf.graph.value_info) + list(inf.graph.output):
        out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim)
    return out


def _pass_through(ctx: Context, node: onnx.NodeProto, inferred: dict) -> None:
    """Lenient mode: bind a failed node's output to its run-time input when ONNX says the shape is kept."""
    src = next((i for i in node.input if i and i in ctx.values and ctx.const(i) is None), None)
    if src is None or not node.output:
        return
    want = inferred.get(node.output[0])
    if want is not None and tuple(want[1:]) == tuple(ctx.onnx_shape(src)[1:]):
        ctx.bind(node.output[0], ctx.values[src], record=False)


def _outputs(ctx: Context, g, lenient: bool) -> list[str]:
    outs = []
    for o in g.output:
        try:
            outs.append(ctx.ir(onnx.helper.make_node("Identity", [o.name], [o.name], name=o.name), o.name))
        except SnncError:
            if not lenient:
                raise
    return outs or [ctx.spec[-1][0]]


def source_notes(opset: int) -> list[str]:
    if 11 <= opset <= 21:
        return []
    return [f"opset {opset} is outside the tested range 11-21"]


def convert_all(proto: onnx.ModelProto, shapes: dict, source: dict) -> tuple[Graph, list[dict]]:
    """Lenient conversion: the graph of every node that converts, and every problem found.

    Problems are the pre-scan's (unsupported op types, activations, custom
    domains) followed by those only conversion finds (unsupported attribute
    values such as Pad mode=reflect, run-time operands that must be constant,
    ..., kind "op"; attribute values the ONNX spec forbids, kind "invalid"),
    one per node. ``snnc inspect`` lists exactly these; ``load`` raises
    them in one error.
    """
    problems = scan(proto)
    graph, more = convert(proto, shapes, {"source": source, "notes": source_notes(source["opset"])}, lenient=True)
    seen = {p["node"] for p in problems}
    return graph, problems + [p for p in more if p["node"] not in seen]


def load(proto: onnx.ModelProto, source: dict, input_shape: Optional[tuple] = None) -> Graph:
    """Strict conversion: the graph, or one error listing every problem of :func:`convert_all`.

    The fast path converts strictly; only when the scan or the strict run
    fails is the model converted again leniently to collect every problem. A
    single problem is raised as its own error (its class and message: a
    GraphError stays a GraphError), several as one error listing them
    (:func:`~snnc.frontends.onnx.validate.problems_error`: GraphError when every
    node is invalid, else UnsupportedModelError).
    """
    from snnc.frontends.onnx.loader import input_shapes
    label = source.get("path") or "the model"
    shapes = input_shapes(proto, input_shape, label)
    strict_error = None
    if not scan(proto):
        try:
            graph, _ = convert(proto, shapes, {"source": source, "notes": source_notes(source["opset"])})
            return graph
        except SnncError as e:
            strict_error = e
    _, problems = convert_all(proto, shapes, source)
    if strict_error is not None and len(problems) <= 1:
        raise strict_error
    raise problems_error(problems, label)
