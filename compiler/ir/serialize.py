"""One portable file per graph: a zip holding ``graph.json`` and one ``.npy`` per array.

The JSON lists nodes in order (name, op type, inputs, shape, attributes) and the
graph's metadata; arrays are stored as ``arrays/<node>/<field>.npy`` and read
back with ``allow_pickle=False``. The JSON is strict (:mod:`~snnc.compiler.ir.jsonio`:
``Clip(0, inf)``'s bound is ``{"$float": "inf"}``, not the non-JSON token
``Infinity``). Entries are written in a fixed order with a fixed timestamp, so
the same graph always gives the same bytes.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Union

import numpy as np

from snnc.compiler.errors import GraphError, ModelLoadError
from snnc.compiler.files import ZIP_ERRORS, input_path
from snnc.compiler.ir import jsonio
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.ops import OP_TYPES

FORMAT = "snnc-graph"
VERSION = 1
_DATE = (1980, 1, 1, 0, 0, 0)


def _tuplify(v):
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def to_bytes(graph: Graph) -> bytes:
    nodes, blobs = [], []
    for n in graph.nodes:
        arrays = n.op.arrays()
        nodes.append({
            "name": n.name, "op": n.type, "inputs": list(n.inputs), "shape": list(n.shape),
            "attrs": n.op.attrs(),
            "arrays": sorted(arrays),
        })
        for field_name in sorted(arrays):
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arrays[field_name]), allow_pickle=False)
            blobs.append((f"arrays/{n.name}/{field_name}.npy", buf.getvalue()))
    doc = {"format": FORMAT, "version": VERSION, "nodes": nodes,
           "outputs": list(graph.outputs), "meta": graph.meta}
    text = jsonio.dumps(doc, sort_keys=True, separators=(",", ":"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("graph.json", text.encode())] + blobs:
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()


def from_bytes(data: bytes, source: str = "<bytes>") -> Graph:
    """The graph stored in ``data``; ModelLoadError for a file that is not one, of another format
    version, truncated, bit-flipped or edited into an inconsistent graph (unknown op, bad attributes,
    arrays of the wrong shape or type, a stored shape the graph does not infer)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        doc = jsonio.loads(zf.read("graph.json"))
    except ZIP_ERRORS as e:
        raise ModelLoadError(f"{source}: not an snnc graph file ({e}); "
                             "recreate it with `snnc compile`") from None
    if not isinstance(doc, dict):
        raise ModelLoadError(f"{source}: graph.json holds a {type(doc).__name__}, not a graph document")
    if doc.get("format") != FORMAT:
        raise ModelLoadError(f"{source}: format {doc.get('format')!r} is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ModelLoadError(f"{source}: format version {doc.get('version')} is not supported "
                             f"(this snnc reads version {VERSION}); recompile the model")
    try:
        return _decode(zf, doc, source)
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - an edited file can break any op constructor or lookup
        raise ModelLoadError(f"{source}: the stored graph is corrupt or was edited ({type(e).__name__}: "
                             f"{e}); recreate it with `snnc compile`") from None


def _decode(zf: zipfile.ZipFile, doc: dict, source: str) -> Graph:
    spec = []
    for nd in doc["nodes"]:
        cls = OP_TYPES.get(nd["op"])
        if cls is None:
            raise ModelLoadError(f"{source}: node {nd['name']!r} has unknown op {nd['op']!r}")
        kwargs = {k: _tuplify(v) for k, v in nd["attrs"].items()}
        for field_name in nd["arrays"]:
            with zf.open(f"arrays/{nd['name']}/{field_name}.npy") as f:
                a = np.load(io.BytesIO(f.read()), allow_pickle=False)
            if a.dtype.kind not in "biuf":
                raise ModelLoadError(f"{source}: array {field_name!r} of node {nd['name']!r} holds {a.dtype}; "
                                     f"the file is corrupt or was edited: recreate it with `snnc compile`")
            kwargs[field_name] = a
        spec.append((nd["name"], cls(**kwargs), nd["inputs"]))
    try:
        g = Graph.build(spec, doc["outputs"], doc["meta"])
    except GraphError as e:
        raise ModelLoadError(f"{source}: stored graph is inconsistent: {e}") from None
    for nd, node in zip(doc["nodes"], g.nodes):
        if list(node.shape) != nd["shape"]:
            raise ModelLoadError(f"{source}: node {nd['name']!r} stored shape {nd['shape']} "
                                 f"but infers {list(node.shape)}")
    return g


def save(graph: Graph, path: Union[str, Path]) -> Path:
    path = Path(path)
    path.write_bytes(to_bytes(graph))
    return path


def load(path: Union[str, Path]) -> Graph:
    path = input_path(path, "graph file")
    return from_bytes(path.read_bytes(), str(path))
