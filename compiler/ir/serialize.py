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
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        doc = jsonio.loads(zf.read("graph.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ModelLoadError(f"{source}: not an snnc graph file ({e}); "
                             "recreate it with `snnc compile`") from None
    if doc.get("format") != FORMAT:
        raise ModelLoadError(f"{source}: format {doc.get('format')!r} is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ModelLoadError(f"{source}: format version {doc.get('version')} is not supported "
                             f"(this snnc reads version {VERSION}); recompile the model")
    spec = []
    for nd in doc["nodes"]:
        cls = OP_TYPES.get(nd["op"])
        if cls is None:
            raise ModelLoadError(f"{source}: node {nd['name']!r} has unknown op {nd['op']!r}")
        kwargs = {k: _tuplify(v) for k, v in nd["attrs"].items()}
        for field_name in nd["arrays"]:
            with zf.open(f"arrays/{nd['name']}/{field_name}.npy") as f:
                kwargs[field_name] = np.load(io.BytesIO(f.read()), allow_pickle=False)
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
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    return from_bytes(path.read_bytes(), str(path))
