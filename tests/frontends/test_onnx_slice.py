"""ONNX Slice / Split on the channel axis -> ChannelSlice: load_onnx + the NumPy
executor against onnxruntime (the independent oracle) over opsets 11-21, every
intermediate tensor mapped to an IR node, and clear errors for other axes/steps."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snnc.compiler.errors import GraphError, UnsupportedModelError
from snnc.compiler.execute import run
from snnc.compiler.ir import ChannelSlice, Graph, Input, from_bytes, to_bytes
from snnc.frontends.onnx import load_onnx

from ..oracles import assert_network_close

R = np.random.default_rng(7)
OPSETS = list(range(11, 22))
BIG = np.iinfo(np.int64).max


def i64(*v):
    return np.asarray(v, np.int64)


def mk(nodes, inits=None, shape=(2, 7, 5, 4), opset=13, out="y", strict=True):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape[1:]])
    y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None if strict else list("NCHW"))
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    m = helper.make_model(helper.make_graph(nodes, "t", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return onnx.shape_inference.infer_shapes(m, strict_mode=strict), shape


def nd(op, ins, outs, **kw):
    outs = [outs] if isinstance(outs, str) else outs
    return helper.make_node(op, ins, outs, name=f"n_{op}_{outs[0]}", **kw)


def check(ort, m, shape):
    """Every ONNX tensor that maps to an IR node, and the output, equal onnxruntime's."""
    x = R.standard_normal(shape).astype(np.float32)
    g = load_onnx(m)
    tensors = dict(g.meta["onnx_tensors"])
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    for t in tensors:
        if t != m.graph.output[0].name:
            m2.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    s = ort.InferenceSession(m2.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = {o.name: v for o, v in zip(s.get_outputs(), s.run(None, {"x": x}))}
    got = run(g, x, keep=list(tensors.values()))
    for t, name in tensors.items():
        assert got[name].shape == ref[t].shape, t
        assert_network_close(g, x, got[name], ref[t], t, output=name)
    assert_network_close(g, x, got[g.outputs[0]], ref[m.graph.output[0].name], "output")
    return g


def slices(g):
    return [(n.op.start, n.op.stop) for n in g.of_type(ChannelSlice)]


def _join(parts):
    """Reorder and transform the parts so every one reaches the output: concat(relu(last), ..., first)."""
    return [nd("Relu", [parts[-1]], "r"), nd("Concat", ["r"] + parts[-2::-1], "y", axis=1)]


def _slice_inputs(opset, starts, ends, axes=None, steps=None):
    inits = {"s": i64(*starts), "e": i64(*ends)}
    ins = ["x", "s", "e"]
    if axes is not None or steps is not None:
        inits["a"] = i64(*axes)
        ins.append("a")
    if steps is not None:
        inits["st"] = i64(*steps)
        ins.append("st")
    return ins, inits


@pytest.mark.parametrize("opset", OPSETS)
def test_slice_chunks(ort, opset):
    """x.chunk-like slices: explicit axes, negative start, INT_MAX end, unit steps."""
    ia, a = _slice_inputs(opset, [0], [3], [1])
    ib, b = _slice_inputs(opset, [-4], [BIG], [1], [1])
    a = {k + "1": v for k, v in a.items()}
    ia = ["x"] + [k + "1" for k in ia[1:]]
    nodes = [nd("Slice", ia, "p"), nd("Slice", ib, "q")] + _join(["p", "q"])
    g = check(ort, *mk(nodes, {**a, **b}, opset=opset))
    assert sorted(slices(g)) == [(0, 3), (3, 7)]


@pytest.mark.parametrize("opset", OPSETS)
def test_slice_all_axes_keeps_other_axes_whole(ort, opset):
    """axes omitted: starts/ends cover every axis; batch and spatial axes stay whole."""
    ins, inits = _slice_inputs(opset, [0, 2, 0, -BIG], [BIG, 6, 5, BIG])
    g = check(ort, *mk([nd("Slice", ins, "y")], inits, opset=opset))
    assert slices(g) == [(2, 6)]


@pytest.mark.parametrize("opset", OPSETS)
def test_split_sizes(ort, opset):
    """Unequal split sizes: attribute before opset 13, input from 13."""
    if opset < 13:
        nodes, inits = [nd("Split", ["x"], ["a", "b", "c"], axis=1, split=[2, 4, 1])], {}
    else:
        nodes, inits = [nd("Split", ["x", "sp"], ["a", "b", "c"], axis=1)], {"sp": i64(2, 4, 1)}
    g = check(ort, *mk(nodes + _join(["a", "b", "c"]), inits, opset=opset))
    assert sorted(slices(g)) == [(0, 2), (2, 6), (6, 7)]


@pytest.mark.parametrize("opset", OPSETS)
def test_split_equal(ort, opset):
    """No sizes: equal split over the outputs (num_outputs required from opset 18)."""
    kw = {"num_outputs": 2} if opset >= 18 else {}
    nodes = [nd("Split", ["x"], ["a", "b"], axis=-3, **kw)] + _join(["a", "b"])
    g = check(ort, *mk(nodes, shape=(2, 6, 3, 3), opset=opset))
    assert sorted(slices(g)) == [(0, 3), (3, 6)]


@pytest.mark.parametrize("opset", [18, 19, 20, 21])
def test_split_num_outputs_uneven(ort, opset):
    """num_outputs=3 of 7 channels: chunks of ceil(7/3) = 3, the last one 1."""
    nodes = [nd("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)] + _join(["a", "b", "c"])
    g = check(ort, *mk(nodes, opset=opset))
    assert sorted(slices(g)) == [(0, 3), (3, 6), (6, 7)]


def test_split_unused_output_emits_no_node(ort):
    nodes = [nd("Split", ["x", "sp"], ["a", "b"], axis=1), nd("Relu", ["b"], "y")]
    g = check(ort, *mk(nodes, {"sp": i64(3, 4)}))
    assert slices(g) == [(3, 7)]


def test_slice_of_flattened_vector(ort):
    nodes = [nd("Flatten", ["x"], "f", axis=1)]
    ins, inits = _slice_inputs(13, [10], [-5], [-1])
    nodes += [nd("Slice", ["f"] + ins[1:], "y")]
    g = check(ort, *mk(nodes, inits, shape=(2, 3, 4, 4)))
    assert slices(g) == [(10, 43)]


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_chunk_after_channel_shuffle(ort, opset):
    """ShuffleNetV2 block tail: reshape/transpose/reshape shuffle, then split into halves."""
    nodes = [nd("Reshape", ["x", "s1"], "v1"), nd("Transpose", ["v1"], "t", perm=[0, 2, 1, 3, 4]),
             nd("Reshape", ["t", "s2"], "v2")]
    if opset >= 18:
        nodes.append(nd("Split", ["v2"], ["a", "b"], axis=1, num_outputs=2))
    elif opset >= 13:
        nodes.append(nd("Split", ["v2", "sp"], ["a", "b"], axis=1))
    else:
        nodes.append(nd("Split", ["v2"], ["a", "b"], axis=1, split=[4, 4]))
    inits = {"s1": i64(-1, 2, 4, 3, 3), "s2": i64(-1, 8, 3, 3), "sp": i64(4, 4)}
    g = check(ort, *mk(nodes + _join(["a", "b"]), inits, shape=(2, 8, 3, 3), opset=opset))
    assert {n.type for n in g.nodes} >= {"ChannelPermute", "ChannelSlice"}


def test_whole_range_slice_is_removed(ort):
    ins, inits = _slice_inputs(13, [0], [BIG], [1])
    g = check(ort, *mk([nd("Slice", ins, "sl"), nd("Relu", ["sl"], "y")], inits))
    assert slices(g) == []


@pytest.mark.parametrize("case, match", [
    ("spatial", r"'n_Slice_y'.*axis 2"),
    ("step", r"'n_Slice_y'.*step 2"),
    ("split_spatial", r"'n_Split_a'.*axis 2"),
    ("empty", r"'n_Slice_y'.*empty channel range"),
])
def test_unsupported_slices(case, match):
    if case == "spatial":
        ins, inits = _slice_inputs(13, [1], [3], [2])
        nodes = [nd("Slice", ins, "y")]
    elif case == "step":
        ins, inits = _slice_inputs(13, [0], [7], [1], [2])
        nodes = [nd("Slice", ins, "y")]
    elif case == "split_spatial":
        nodes, inits = [nd("Split", ["x", "sp"], ["a", "y"], axis=2)], {"sp": i64(2, 3)}
    else:
        ins, inits = _slice_inputs(13, [5], [2], [1])
        nodes = [nd("Slice", ins, "y")]
    m, _ = mk(nodes, inits, strict=False)
    with pytest.raises(UnsupportedModelError, match=match):
        load_onnx(m)


def test_uneven_split_is_invalid_onnx():
    """Splitting 3 channels into 2 equal parts is not defined by ONNX (opset 13): refused before conversion."""
    m, _ = mk([nd("Split", ["x"], ["a", "y"], axis=1)], {}, strict=False)
    with pytest.raises(GraphError, match="'n_Split_a'.*not evenly splittable"):
        load_onnx(m)


def test_ir_op_checks_its_range():
    x = ("x", Input((6, 2, 2)), ())
    g = Graph.build([x, ("s", ChannelSlice(1, 4), ("x",))], ["s"])
    assert g.node("s").shape == (3, 2, 2)
    back = from_bytes(to_bytes(g)).node("s").op
    assert isinstance(back, ChannelSlice) and (back.start, back.stop) == (1, 4)
    for bad in (ChannelSlice(4, 4), ChannelSlice(-1, 2), ChannelSlice(2, 7)):
        with pytest.raises(GraphError, match="ChannelSlice"):
            Graph.build([x, ("s", bad, ("x",))], ["s"])
