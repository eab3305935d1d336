"""Fuzz case families: mutations of valid models (the example MNIST CNN and a small generated one),
calibration data, special files, external-data paths and compiled artifacts. Every family is a
function ``(rng, bases) -> Case``; ``generate(seed, n)`` draws ``n`` cases round-robin over them."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .runner import Case

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist_cnn.onnx"


def small_model() -> onnx.ModelProto:
    """Conv(3x3) -> ReLU -> MaxPool -> Flatten -> Gemm on (N, 2, 6, 6): every op family, 10 kB."""
    r = np.random.default_rng(0)
    inits = [numpy_helper.from_array(r.standard_normal(s).astype(np.float32), n)
             for n, s in (("W", (4, 2, 3, 3)), ("B", (4,)), ("W2", (3, 16)), ("B2", (3,)))]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[3, 3], strides=[3, 3]),
             helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)   # onnxruntime reads <= 11


class Bases:
    """The valid starting points: model bytes with their input shapes, and a compiled artifact."""

    def __init__(self, artifact: bytes):
        self.models = {"mnist_cnn": (EXAMPLE.read_bytes(), (1, 28, 28)),
                       "small": (small_model().SerializeToString(), (2, 6, 6))}
        self.artifact = artifact

    def calib(self, shape, n=8) -> bytes:
        import io
        buf = io.BytesIO()
        np.save(buf, np.random.default_rng(1).random((n,) + tuple(shape)).astype(np.float32))
        return buf.getvalue()


def _write(d: Path, files: dict) -> None:
    for name, data in files.items():
        (d / name).write_bytes(data)


def _model_case(family, name, data, shape, bases, rng, command=None) -> Case:
    """Run ``data`` as the model through inspect or compile (with valid calibration data)."""
    command = command or ("inspect" if rng.random() < 0.3 else "compile")
    calib = bases.calib(shape)

    def setup(d):
        _write(d, {"m.onnx": data, "c.npy": calib})
        return (["inspect", "{in}/m.onnx"] if command == "inspect"
                else ["compile", "{in}/m.onnx", "--calib", "{in}/c.npy", "--iters", "2", "-o", "{out}/a.snnc"])
    return Case(family, f"{name} ({command})", setup, invalid_model=data)


def _pick(rng, bases):
    key = list(bases.models)[rng.integers(len(bases.models))]
    return key, *bases.models[key]


def truncate(rng, bases) -> Case:
    key, data, shape = _pick(rng, bases)
    cut = int(rng.integers(0, len(data)))
    return _model_case("truncate", f"{key}[:{cut}]", data[:cut], shape, bases, rng)


def bitflip(rng, bases) -> Case:
    key, data, shape = _pick(rng, bases)
    buf = bytearray(data)
    pos = rng.integers(0, len(buf) * 8, size=int(rng.integers(1, 9)))
    for p in pos:
        buf[p // 8] ^= 1 << (p % 8)
    return _model_case("bitflip", f"{key} bits {sorted(int(p) for p in pos)[:3]}...", bytes(buf), shape, bases, rng)


def _mutate_attribute(rng, m: onnx.ModelProto) -> str:
    nodes = [n for n in m.graph.node if n.attribute] or list(m.graph.node)
    n = nodes[rng.integers(len(nodes))]
    what = rng.integers(5)
    if what == 0 or not n.attribute:
        n.attribute.append(helper.make_attribute("bogus", 7))
        return f"{n.op_type}.bogus=7"
    a = n.attribute[rng.integers(len(n.attribute))]
    if what == 1:
        n.attribute.remove(a)
        return f"{n.op_type} without {a.name}"
    value = [0, -1, 2 ** 31 - 1, -(2 ** 40), 3][rng.integers(5)]
    if a.type == onnx.AttributeProto.INTS and a.ints:
        if what == 2:
            a.ints[rng.integers(len(a.ints))] = value
        else:
            a.ints.append(value)
    elif a.type == onnx.AttributeProto.INT:
        a.i = value
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = [float("nan"), float("inf"), -1.0, 0.0, 1e30][rng.integers(5)]
    elif a.type == onnx.AttributeProto.STRING:
        a.s = [b"", b"SAME_LOWER", b"bogus", b"\xff\xfe"][rng.integers(4)]
    else:
        a.type = onnx.AttributeProto.STRING
    return f"{n.op_type}.{a.name} mutated ({what}, {value})"


def attribute(rng, bases) -> Case:
    key, data, shape = _pick(rng, bases)
    m = onnx.load_model_from_string(data)
    how = _mutate_attribute(rng, m)
    return _model_case("attribute", f"{key}: {how}", m.SerializeToString(), shape, bases, rng)


DTYPES = [TensorProto.INT64, TensorProto.INT32, TensorProto.INT8, TensorProto.FLOAT16, TensorProto.BFLOAT16,
          TensorProto.DOUBLE, TensorProto.UINT8, TensorProto.BOOL, TensorProto.STRING, TensorProto.COMPLEX64]


def dtype(rng, bases) -> Case:
    key, data, shape = _pick(rng, bases)
    m = onnx.load_model_from_string(data)
    t = int(DTYPES[rng.integers(len(DTYPES))])
    if rng.random() < 0.3:
        m.graph.input[0].type.tensor_type.elem_type = t
        how = f"input elem_type {onnx.TensorProto.DataType.Name(t)}"
    else:
        init = m.graph.initializer[rng.integers(len(m.graph.initializer))]
        init.data_type = t
        how = f"{init.name} as {onnx.TensorProto.DataType.Name(t)}"
    return _model_case("dtype", f"{key}: {how}", m.SerializeToString(), shape, bases, rng)


def shape_lie(rng, bases) -> Case:
    key, data, shape = _pick(rng, bases)
    m = onnx.load_model_from_string(data)
    value = [0, 1, 2, 3, 10 ** 6, 2 ** 40][rng.integers(6)]
    where = rng.integers(3)
    if where == 0:
        dims = m.graph.input[0].type.tensor_type.shape.dim
        d = dims[rng.integers(len(dims))]
        d.dim_value = value
        how = f"input dim = {value}"
    elif where == 1:
        init = m.graph.initializer[rng.integers(len(m.graph.initializer))]
        init.dims[rng.integers(len(init.dims))] = value
        how = f"{init.name} dims {list(init.dims)}"
    else:
        dims = m.graph.output[0].type.tensor_type.shape.dim
        dims[len(dims) - 1].dim_value = value
        how = f"output dim = {value}"
    return _model_case("shape_lie", f"{key}: {how}", m.SerializeToString(), shape, bases, rng)


def _special(d: Path, name: str, kind: str) -> str:
    """A FIFO, a folder, a socket or a device where a file is expected; its path."""
    p = d / name
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "directory":
        p.mkdir()
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    else:
        return "/dev/zero"
    return str(p)


SPECIAL = ["fifo", "directory", "socket", "dev_zero"]


def special_file(rng, bases) -> Case:
    kind = SPECIAL[rng.integers(len(SPECIAL))]
    role = ["model", "calib", "artifact"][rng.integers(3)]
    key, data, shape = _pick(rng, bases)
    calib = bases.calib(shape)
    cmd = {"model": ["compile", "inspect"], "calib": ["compile"], "artifact": ["estimate", "simulate"]}[role]
    cmd = cmd[rng.integers(len(cmd))]

    def setup(d):
        _write(d, {"m.onnx": data, "c.npy": calib, "a.snnc": bases.artifact})
        target = _special(d, {"model": "x.onnx", "calib": "x.npy", "artifact": "x.snnc"}[role], kind)
        model = target if role == "model" else "{in}/m.onnx"
        return {"inspect": ["inspect", target], "estimate": ["estimate", target],
                "compile": ["compile", model, "--calib", target if role == "calib" else "{in}/c.npy",
                            "-o", "{out}/a.snnc"],
                "simulate": ["simulate", target, "--data", "{in}/c.npy", "--T", "4"]}[cmd]
    return Case("special_file", f"{role} is a {kind} ({cmd})", setup)


def external_data(rng, bases) -> Case:
    """A weight moved to external data whose location points outside, is missing, absolute, a folder."""
    data, shape = bases.models["small"]
    how = ["outside", "missing", "absolute", "directory", "fifo", "short"][rng.integers(6)]
    m = onnx.load_model_from_string(data)
    init = m.graph.initializer[0]
    raw = numpy_helper.to_array(init).tobytes()
    location = {"outside": "../secret.bin", "missing": "nothere.bin", "absolute": "/etc/hostname",
                "directory": "sub", "fifo": "pipe.bin", "short": "w.bin"}[how]
    init.ClearField("float_data")
    init.ClearField("raw_data")
    init.data_location = TensorProto.EXTERNAL
    init.external_data.add(key="location", value=location)
    init.external_data.add(key="length", value=str(len(raw)))
    calib = bases.calib(shape)
    cmd = ["inspect", "compile"][int(rng.random() < 0.6)]

    def setup(d):
        _write(d, {"m.onnx": m.SerializeToString(), "c.npy": calib})
        (d.parent / "secret.bin").write_bytes(raw)
        if how == "directory":
            (d / "sub").mkdir()
        elif how == "fifo":
            os.mkfifo(d / "pipe.bin")
        elif how == "short":
            (d / "w.bin").write_bytes(raw[:5])
        return (["inspect", "{in}/m.onnx"] if cmd == "inspect"
                else ["compile", "{in}/m.onnx", "--calib", "{in}/c.npy", "-o", "{out}/a.snnc"])
    return Case("external_data", f"location {how} ({cmd})", setup)


def _npy_mutations(rng, shape) -> tuple:
    import io
    x = np.random.default_rng(2).random((8,) + tuple(shape)).astype(np.float32)
    how = ["truncated", "bitflip", "nan", "wrong_shape", "int", "object", "empty", "huge_header", "npz_arr0",
           "npz_many", "scalar", "text"][rng.integers(12)]
    buf = io.BytesIO()
    name = "c.npy"
    if how == "truncated":
        np.save(buf, x)
        return how, name, buf.getvalue()[:int(rng.integers(1, buf.tell()))]
    if how == "bitflip":
        np.save(buf, x)
        b = bytearray(buf.getvalue())
        for p in rng.integers(0, len(b) * 8, 4):
            b[p // 8] ^= 1 << (p % 8)
        return how, name, bytes(b)
    if how == "huge_header":
        np.save(buf, x)
        b = buf.getvalue()
        return how, name, b.replace(b"(8,", b"(99999999999,", 1)
    if how in ("npz_arr0", "npz_many"):
        np.savez(buf, x) if how == "npz_arr0" else np.savez(buf, a=x, b=x[:, :1], y=np.arange(3))
        return how, "c.npz", buf.getvalue()
    if how == "text":
        return how, name, b"1,2,3\n"
    arr = {"nan": np.where(x > 0.5, np.nan, x), "wrong_shape": x.reshape(8, -1)[:, :7],
           "int": (x * 10).astype(np.int64), "object": np.array([x[0], "a"], dtype=object),
           "empty": x[:0], "scalar": np.float32(1.0)}[how]
    np.save(buf, arr, allow_pickle=True)
    return how, name, buf.getvalue()


def data(rng, bases) -> Case:
    key, model, shape = _pick(rng, bases)
    how, name, blob = _npy_mutations(rng, shape)
    use = "compile" if rng.random() < 0.6 else "simulate"

    def setup(d):
        _write(d, {"m.onnx": model, name: blob, "a.snnc": bases.artifact})
        if use == "compile":
            return ["compile", "{in}/m.onnx", "--calib", f"{{in}}/{name}", "--iters", "2", "-o", "{out}/a.snnc"]
        return ["simulate", "{in}/a.snnc", "--data", f"{{in}}/{name}", "--T", "4"]
    return Case("data", f"{key} calib {how} ({use})", setup)


def artifact(rng, bases) -> Case:
    b = bytearray(bases.artifact)
    if rng.random() < 0.5:
        b = b[:int(rng.integers(0, len(b)))]
        how = f"truncated to {len(b)}"
    else:
        for p in rng.integers(0, len(b) * 8, int(rng.integers(1, 9))):
            b[p // 8] ^= 1 << (p % 8)
        how = "bit flips"
    cmd = ["estimate", "simulate", "inspect"][rng.integers(3)]
    calib = bases.calib((1, 28, 28))

    def setup(d):
        _write(d, {"a.snnc": bytes(b), "c.npy": calib})
        return {"estimate": ["estimate", "{in}/a.snnc"], "inspect": ["inspect", "{in}/a.snnc"],
                "simulate": ["simulate", "{in}/a.snnc", "--data", "{in}/c.npy", "--T", "4"]}[cmd]
    return Case("artifact", f"{how} ({cmd})", setup)


FAMILIES = {f.__name__: f for f in (truncate, bitflip, attribute, dtype, shape_lie, special_file, external_data,
                                    data, artifact)}


def generate(seed: int, n: int, bases: Bases, families=None) -> list:
    """``n`` cases, round-robin over ``families`` (default all), each from its own seeded generator."""
    names = list(families or FAMILIES)
    return [FAMILIES[names[i % len(names)]](np.random.default_rng([seed, i]), bases) for i in range(n)]
