"""Pathological but valid ONNX graphs (issue 12): a 5,000-layer ReLU chain, a 10,000-node tree and
1,000 residual diamonds (2^1000 input-output paths). Nothing in snnc may cost more than linear time
in their nodes and edges (docs/architecture.md, "Limits")."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH = 4   # features per layer: the graphs are about structure, not size


def _model(nodes, out, inits=(), shape=(WIDTH,)) -> onnx.ModelProto:
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", *shape]) for n in ("x", out)]
    g = helper.make_graph(nodes, "pathological", io[:1], io[1:], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def relu_chain(layers: int = 5000) -> onnx.ModelProto:
    """x -> ReLU -> ReLU -> ... (``layers`` ReLUs, each a neuron layer after conversion)."""
    nodes = [helper.make_node("Relu", ["x" if i == 0 else f"r{i - 1}"], [f"r{i}"]) for i in range(layers)]
    return _model(nodes, f"r{layers - 1}")


def relu_tree(nodes: int = 10000) -> onnx.ModelProto:
    """A balanced binary tree of Adds over ReLU(x) leaves: ``nodes`` ONNX nodes (leaves + Adds)."""
    leaves = (nodes + 1) // 2
    spec = [helper.make_node("Relu", ["x"], [f"l{i}"]) for i in range(leaves)]
    level = [f"l{i}" for i in range(leaves)]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(f"a{len(spec)}")
            spec.append(helper.make_node("Add", level[i:i + 2], [nxt[-1]]))
        level = nxt + level[len(level) - len(level) % 2:]
    return _model(spec, level[0])


def diamonds(count: int = 1000) -> onnx.ModelProto:
    """``count`` residual diamonds h -> (ReLU(h), ReLU(h)) -> Add -> * 0.5: 2^count input-output paths."""
    spec, prev = [], "x"
    for i in range(count):
        spec += [helper.make_node("Relu", [prev], [f"p{i}"]), helper.make_node("Relu", [prev], [f"q{i}"]),
                 helper.make_node("Add", [f"p{i}", f"q{i}"], [f"s{i}"]),
                 helper.make_node("Mul", [f"s{i}", "half"], [f"d{i}"])]
        prev = f"d{i}"
    return _model(spec, prev, [numpy_helper.from_array(np.array(0.5, np.float32), "half")])


def pool_chain(pools: int = 3000) -> onnx.ModelProto:
    """Conv -> ReLU -> ``pools`` 1x1 max pools -> Gemm: a long structural path between two layers."""
    spec = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("Relu", ["c"], ["m0"])]
    spec += [helper.make_node("MaxPool", [f"m{i}"], [f"m{i + 1}"], kernel_shape=[1, 1]) for i in range(pools)]
    spec += [helper.make_node("Flatten", [f"m{pools}"], ["f"]), helper.make_node("Gemm", ["f", "W2"], ["y"], transB=1)]
    inits = [numpy_helper.from_array(np.full((2, 1, 1, 1), 0.5, np.float32), "W"),
             numpy_helper.from_array(np.full((3, 32), 0.1, np.float32), "W2")]
    g = helper.make_graph(spec, "pool_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


GRAPHS = {"relu_chain": (relu_chain, (WIDTH,)), "relu_tree": (relu_tree, (WIDTH,)),
          "diamonds": (diamonds, (WIDTH,)), "pool_chain": (pool_chain, (1, 4, 4))}
