"""``snnc inspect model.onnx``: nodes, shapes, parameters, MACs and unsupported ops.

The model is converted leniently: nodes that convert are listed even when
others do not; unsupported nodes are listed after the table (the same list
``snnc compile`` reports in its one error) and the command exits with code 4
(unsupported model; 5 when every listed node is invalid ONNX). A model that
fails validation (:mod:`snnc.frontends.onnx.validate`) stops with that one
error, as ``snnc compile`` does. The frontend's notes (a final Softmax dropped, an opset
outside the tested range, ...) follow the totals (``notes`` in ``--json``).
Unusable files exit with code 3.
"""
from __future__ import annotations

import sys

from snnc.cli.common import print_json, table
from snnc.compiler.errors import UsageError

HELP = "list a model's nodes, shapes, parameters, MACs and unsupported ops"


def add_arguments(p) -> None:
    p.add_argument("model", help="ONNX file")
    p.add_argument("--input-shape", metavar="N,C,H,W",
                   help="input shape (with batch) for models exported with dynamic dimensions")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        dims = ()
    if not dims or min(dims) <= 0:
        raise UsageError(f"--input-shape {text!r} is not a list of positive integers such as 1,3,224,224")
    return dims


def report(path: str, input_shape=None) -> dict:
    """Nodes, totals and problems of the model at ``path`` (raises on unusable files)."""
    from snnc.compiler.ir import node_macs
    from snnc.frontends.onnx.convert import convert_all
    from snnc.frontends.onnx.loader import input_shapes, read_model
    proto, source = read_model(path)
    shapes = input_shapes(proto, input_shape, path)
    graph, problems = convert_all(proto, shapes, source)
    nodes = [{"name": n.name, "op": n.type, "shape": list(n.shape), "params": n.op.param_count(),
              "macs": node_macs(graph, n)} for n in graph]
    totals = {"nodes": len(nodes), "params": sum(n["params"] for n in nodes),
              "macs": sum(n["macs"] for n in nodes)}
    return {"model": path, "source": source, "nodes": nodes, "totals": totals, "unsupported": problems,
            "notes": list(graph.meta.get("notes", []))}


def run(args) -> int:
    rep = report(args.model, None if args.input_shape is None else parse_shape(args.input_shape))
    if args.json:
        print_json(rep)
    else:
        _print(rep)
    problems = rep["unsupported"]
    if problems:
        from snnc.frontends.onnx.validate import problems_error
        invalid = sum(p["kind"] == "invalid" for p in problems)
        what = (f"{len(problems) - invalid} unsupported" if len(problems) > invalid else "") + \
            (" and " if invalid and len(problems) > invalid else "") + (f"{invalid} invalid" if invalid else "")
        print(f"error: {what} node(s) in {args.model} (listed above); replace them in the model (see "
              f"README's supported-op table and the ONNX spec)", file=sys.stderr)
        return problems_error(problems, args.model).exit_code
    return 0


def _print(rep: dict) -> None:
    rows = [(n["name"], n["op"], "x".join(map(str, n["shape"])), n["params"], n["macs"]) for n in rep["nodes"]]
    print(table(["node", "op", "output", "params", "MACs"], rows, align="lllrr"))
    t = rep["totals"]
    src = rep["source"]
    print(f"\n{rep['model']}: opset {src['opset']}, producer {src['producer'] or '?'}")
    print(f"totals: {t['nodes']:,} nodes, {t['params']:,} parameters, {t['macs']:,} MACs per sample")
    for note in rep["notes"]:
        print(f"note: {note}")
    if rep["unsupported"]:
        print(f"\nproblems ({len(rep['unsupported'])}):")
        print(table(["node", "op", "problem"], [(p["node"], p["op"], p["message"]) for p in rep["unsupported"]],
                    align="lll"))
