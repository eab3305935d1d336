"""Is the file a valid ONNX model? Checked before any conversion.

snnc converts the ANN the ONNX spec defines; a model the spec does not define
(onnxruntime refuses it, or runs something else than the exporter meant) is
refused with one error naming the node, the attribute and what is valid:

* structure (:class:`ModelLoadError`, exit 3): ``onnx.checker.check_model``;
  a graph without outputs; the default domain imported twice (``""`` and
  ``"ai.onnx"`` are one domain); an opset newer than the installed onnx
  package knows (its ops' meaning is not known);
* types and shapes (:class:`GraphError`, exit 5): the checker's full mode,
  i.e. ONNX shape and type inference in strict mode, which refuses e.g. INT64
  / FLOAT16 / DOUBLE weights next to a float32 input, a ``Reshape`` shape
  that is not int64, Conv ``dilations`` 0, a declared output shape the
  attributes contradict; graph inputs that are not float32 (snnc computes in
  float32: a float16 / float64 model converted in float32 is another
  network) or have an empty (0) dimension.

snnc's own attribute rules (``RULES``: Conv / pool windows, Gemm bias,
Reshape targets; the ONNX spec's rules that inference does not enforce or
reports without naming the attribute) run first, on every node whose operands
are initializers, and every broken node is listed in one :class:`GraphError`
(``snnc inspect`` and ``snnc compile`` print the same). The handlers apply the
same rules again to operands only constant folding reveals (a Reshape target
computed by Shape -> Concat).

Models over 2 GB (protobuf's limit) are checked from their file, which is
how the onnx checker reads external data.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import onnx
from onnx import numpy_helper

from snnc.compiler.errors import GraphError, ModelLoadError, SnncError, UnsupportedModelError
from snnc.frontends.onnx.conv import check_window, gemm_bias
from snnc.frontends.onnx.registry import attrs
from snnc.frontends.onnx.shape import check_reshape_target

DEFAULT_DOMAINS = ("", "ai.onnx")
_NODE = re.compile(r"\(op_type:(?P<op>[^,]*), node name: (?P<name>[^)]*)\):\s*(?:\[\w+\]\s*)?(?P<what>.*)")


def check_model(proto: onnx.ModelProto, label: str, path: Optional[Path] = None) -> None:
    """Raise one ModelLoadError / GraphError if ``proto`` is not a valid ONNX model for snnc."""
    if not proto.graph.output:
        raise ModelLoadError(f"{label} has no graph outputs, so the model computes nothing; re-export it "
                             f"with its output tensor(s) declared")
    _check_opsets(proto, label)
    _check_inputs(proto, label)
    problems = attribute_problems(proto)
    if problems:
        raise problems_error(problems, label)
    small = proto.ByteSize() <= onnx.checker.MAXIMUM_PROTOBUF
    if not small and path is None:
        raise ModelLoadError(f"{label} is larger than 2 GB in memory; pass the .onnx file path (with its "
                             f"external data next to it) instead of a ModelProto")
    try:
        onnx.checker.check_model(proto if small else str(path), full_check=True)
    except onnx.shape_inference.InferenceError as e:
        raise _inference_error(str(e), label) from None
    except Exception as e:  # noqa: BLE001 - ValidationError, and C++ errors on malformed protos
        raise ModelLoadError(f"{label} is not a valid ONNX model ({_first_line(e)}); re-export it") from None


def _conv_rule(node, at, const):
    w = const(node.input[1]) if len(node.input) > 1 else None
    kernel = w.shape[2:] if w is not None else at.get("kernel_shape", (1, 1))
    check_window(node, at, tuple(kernel))


def _pool_rule(node, at, const):
    check_window(node, at, tuple(at.get("kernel_shape", (1, 1))))


def _gemm_rule(node, at, const):
    b = const(node.input[1]) if len(node.input) > 1 else None
    c = const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if b is not None and c is not None and b.ndim == 2:
        gemm_bias(node, c, b.shape[0] if at.get("transB", 0) else b.shape[1])


def _reshape_rule(node, at, const):
    shape = const(node.input[1]) if len(node.input) > 1 else None
    if shape is not None:
        check_reshape_target(node, shape, int(at.get("allowzero", 0)))


RULES = {"Conv": _conv_rule, "MaxPool": _pool_rule, "AveragePool": _pool_rule, "Gemm": _gemm_rule,
         "Reshape": _reshape_rule}
"""op type -> rule(node, attributes, const): raises GraphError naming the node and attribute."""


def attribute_problems(proto: onnx.ModelProto) -> list[dict]:
    """Every node of ``proto`` that breaks a rule of ``RULES``, as {"node", "op", "kind": "invalid", "message"}."""
    inits = {i.name: i for i in proto.graph.initializer}
    cache: dict = {}

    def const(t):
        if t in inits and t not in cache:
            cache[t] = numpy_helper.to_array(inits[t])
        return cache.get(t)

    problems = []
    for node in proto.graph.node:
        rule = RULES.get(node.op_type) if node.domain in DEFAULT_DOMAINS else None
        try:
            if rule is not None:
                rule(node, attrs(node), const)
        except GraphError as e:
            problems.append({"node": node.name or node.output[0], "op": node.op_type, "kind": "invalid",
                             "message": str(e)})
        except Exception:  # noqa: BLE001 - malformed attribute types: onnx.checker names them next
            continue
    return problems


def problems_error(problems: list[dict], label: str) -> SnncError:
    """One error for ``problems``: a GraphError when every node is invalid (the single problem's own
    message when there is one), else an UnsupportedModelError listing them all."""
    invalid = all(p["kind"] == "invalid" for p in problems)
    if invalid and len(problems) == 1:
        return GraphError(problems[0]["message"])
    lines = "\n".join(f"  - {p['message']}" for p in problems)
    if invalid:
        return GraphError(f"{label} is not a valid ONNX model: {len(problems)} invalid node(s):\n{lines}")
    noun = "unsupported" if not any(p["kind"] == "invalid" for p in problems) else "unsupported or invalid"
    return UnsupportedModelError(f"{label} has {len(problems)} {noun} node(s):\n{lines}")


def _check_opsets(proto: onnx.ModelProto, label: str) -> None:
    default = [o for o in proto.opset_import if o.domain in DEFAULT_DOMAINS]
    if len(default) > 1:
        versions = ", ".join(f"{o.domain or '(empty)'}: {o.version}" for o in default)
        raise ModelLoadError(f"{label} imports the default ONNX domain {len(default)} times ({versions}); "
                             f"a model declares one opset per domain: keep one opset_import entry")
    newest = onnx.defs.onnx_opset_version()
    if default and default[0].version > newest:
        raise ModelLoadError(f"{label} declares opset {default[0].version}, newer than any this onnx package "
                             f"knows (1-{newest}); the meaning of its ops is not defined here: export with "
                             f"opset <= {newest} (or upgrade onnx)")


def _check_inputs(proto: onnx.ModelProto, label: str) -> None:
    inits = {i.name for i in proto.graph.initializer}
    for vi in proto.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        if tt.elem_type != onnx.TensorProto.FLOAT:
            name = onnx.TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "no tensor type"
            raise GraphError(f"input {vi.name!r} of {label} has element type {name}; snnc converts float32 "
                             f"models (valid: FLOAT): convert the model to float32 before exporting "
                             f"(e.g. model.float() in PyTorch)")
        dims = list(tt.shape.dim)
        for axis, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value == 0:
                what = "batch dimension" if axis == 0 else f"dimension {axis}"
                raise GraphError(f"input {vi.name!r} of {label} has {what} 0 (an empty tensor) in shape "
                                 f"{[x.dim_value if x.HasField('dim_value') else x.dim_param for x in dims]}; "
                                 f"valid dimensions are >= 1 (or a symbolic batch such as 'N')")


def _inference_error(text: str, label: str) -> GraphError:
    m = _NODE.search(text)
    if m is None:
        return GraphError(f"{label} fails ONNX shape/type inference ({_first_line(text)}); the model is not "
                          f"valid ONNX: re-export it")
    what = m["what"].strip().splitlines()[0].rstrip(".")
    return GraphError(f"node {m['name'] or '?'!r} ({m['op']}) of {label} is not valid ONNX: {what} (ONNX "
                      f"shape/type inference, which onnxruntime runs too, refuses it); fix the node's "
                      f"attributes / weight types or re-export the model")


def _first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
