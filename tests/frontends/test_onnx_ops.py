"""Every supported ONNX op and attribute variant: load_onnx + the NumPy executor
against onnxruntime (the independent oracle), within 1e-4 relative, checking
every intermediate tensor that maps to an IR node."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snnc.compiler.execute import run
from snnc.frontends.onnx import load_onnx

from ..oracles import assert_network_close

R = np.random.default_rng(1)


def w(*shape, scale=0.5):
    return (R.standard_normal(shape) * scale).astype(np.float32)


def mk(nodes, inits=None, shape=(2, 4, 8, 8), opset=17, out="y"):
    """A model with float input x of ``shape`` (batch symbolic) and output ``out``."""
    inits = inits or {}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape[1:]])
    y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "t", [x], [y], [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return onnx.shape_inference.infer_shapes(m, strict_mode=True), shape


def node(op, ins, outs="y", **kw):
    return helper.make_node(op, ins, [outs] if isinstance(outs, str) else outs, name=f"n_{op}_{outs}", **kw)


def i64(*v):
    return np.asarray(v, np.int64)


def f32(*v):
    return np.asarray(v, np.float32)


def _ort_all(ort, m, x, names):
    """onnxruntime values of the graph output and of every tensor in ``names``."""
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    have = {o.name for o in m2.graph.output}
    for n in names:
        if n not in have:
            m2.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    s = ort.InferenceSession(m2.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = s.run(None, {"x": x})
    return {o.name: v for o, v in zip(s.get_outputs(), outs)}


def check(ort, m, shape, drop_final=False):
    """Compare every ONNX tensor mapped to an IR node and the output with onnxruntime."""
    x = R.standard_normal(shape).astype(np.float32)
    g = load_onnx(m)
    tensors = dict(g.meta["onnx_tensors"])
    ref = _ort_all(ort, m, x, list(tensors))
    got = run(g, x, keep=list(tensors.values()))
    for t, name in tensors.items():
        assert got[name].shape == ref[t].shape, f"tensor {t}: shape {got[name].shape} vs onnxruntime {ref[t].shape}"
        assert_network_close(g, x, got[name], ref[t], f"tensor {t} (IR node {name})", output=name)
    if not drop_final:
        assert_network_close(g, x, got[g.outputs[0]], ref[m.graph.output[0].name], "output")
    return g, got, ref


def conv(**kw):
    wt = kw.pop("weight", w(6, 4, 3, 3))
    ins = ["x", "W"] + (["B"] if kw.pop("bias", True) else [])
    return mk([node("Conv", ins, **kw)], {"W": wt, "B": w(wt.shape[0])}, shape=kw.pop("_shape", (2, 4, 9, 9)))


def pool(op, shape=(2, 3, 9, 9), opset=17, **kw):
    return mk([node(op, ["x"], **kw)], shape=shape, opset=opset)


CASES = {
    "conv_basic": lambda: conv(pads=[1, 1, 1, 1]),
    "conv_stride2_asym_pads": lambda: conv(strides=[2, 2], pads=[0, 1, 2, 1]),
    "conv_dilation": lambda: conv(dilations=[2, 2], pads=[2, 2, 2, 2]),
    "conv_groups2": lambda: conv(weight=w(6, 2, 3, 3), group=2),
    "conv_depthwise": lambda: conv(weight=w(4, 1, 3, 3), group=4, pads=[1, 1, 1, 1]),
    "conv_depthwise_mult2": lambda: conv(weight=w(8, 1, 3, 3), group=4, strides=[2, 2]),
    "conv_same_upper": lambda: conv(auto_pad="SAME_UPPER", strides=[2, 2], weight=w(6, 4, 4, 4)),
    "conv_same_lower": lambda: conv(auto_pad="SAME_LOWER", strides=[2, 2], weight=w(6, 4, 4, 4)),
    "conv_valid": lambda: conv(auto_pad="VALID", strides=[2, 1]),
    "conv_no_bias_1x1": lambda: conv(weight=w(5, 4, 1, 1), bias=False),
    "conv_rect_kernel": lambda: conv(weight=w(3, 4, 1, 5), pads=[0, 2, 0, 2]),
    "gemm_transB": lambda: mk([node("Flatten", ["x"], "f"), node("Gemm", ["f", "W", "C"], transB=1)],
                              {"W": w(5, 64), "C": w(5)}, shape=(2, 4, 4, 4)),
    "gemm_alpha_beta": lambda: mk([node("Flatten", ["x"], "f"),
                                   node("Gemm", ["f", "W", "C"], alpha=0.5, beta=2.0)],
                                  {"W": w(64, 5), "C": w(1, 5)}, shape=(2, 4, 4, 4)),
    "gemm_no_c_scalar": lambda: mk([node("Flatten", ["x"], "f"), node("Gemm", ["f", "W"], transB=1)],
                                   {"W": w(3, 64)}, shape=(2, 4, 4, 4)),
    "gemm_scalar_c": lambda: mk([node("Flatten", ["x"], "f"), node("Gemm", ["f", "W", "C"])],
                                {"W": w(64, 3), "C": f32(0.7)}, shape=(2, 4, 4, 4)),
    "matmul_add_bias": lambda: mk([node("Flatten", ["x"], "f"), node("MatMul", ["f", "W"], "m"),
                                   node("Add", ["m", "B"])], {"W": w(64, 7), "B": w(7)}, shape=(2, 4, 4, 4)),
    "matmul_alone": lambda: mk([node("Flatten", ["x"], "f"), node("MatMul", ["f", "W"])],
                               {"W": w(64, 7)}, shape=(2, 4, 4, 4)),
    "batchnorm": lambda: mk([node("BatchNormalization", ["x", "g", "b", "m", "v"], epsilon=1e-3)],
                            {"g": w(4), "b": w(4), "m": w(4), "v": np.abs(w(4)) + 0.1}),
    "batchnorm_vector": lambda: mk([node("Flatten", ["x"], "f"),
                                    node("BatchNormalization", ["f", "g", "b", "m", "v"])],
                                   {"g": w(16), "b": w(16), "m": w(16), "v": np.abs(w(16)) + 0.1},
                                   shape=(2, 4, 2, 2)),
    "relu": lambda: mk([node("Relu", ["x"])]),
    "clip_relu6_inputs": lambda: mk([node("Clip", ["x", "lo", "hi"])], {"lo": f32(0), "hi": f32(0.6)}),
    "clip_min_only": lambda: mk([node("Clip", ["x", "lo"])], {"lo": f32(0)}),
    "clip_attrs_opset6": lambda: mk([node("Clip", ["x"], min=0.0, max=0.5)], opset=6),
    "maxpool_k3s2p1": lambda: pool("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "maxpool_ceil": lambda: pool("MaxPool", shape=(2, 3, 10, 10), kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    "maxpool_ceil_pads": lambda: pool("MaxPool", shape=(2, 3, 8, 8), kernel_shape=[2, 2], strides=[2, 2],
                                      pads=[1, 1, 1, 1], ceil_mode=1),
    "maxpool_dilation": lambda: pool("MaxPool", kernel_shape=[2, 2], dilations=[2, 2]),
    "maxpool_same_upper": lambda: pool("MaxPool", kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    "maxpool_asym_pads": lambda: pool("MaxPool", kernel_shape=[3, 2], strides=[1, 2], pads=[0, 1, 2, 0]),
    "avgpool_exclude_pad": lambda: pool("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "avgpool_include_pad": lambda: pool("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                        count_include_pad=1),
    "avgpool_ceil": lambda: pool("AveragePool", shape=(2, 3, 10, 10), kernel_shape=[3, 3], strides=[2, 2],
                                 ceil_mode=1),
    "avgpool_ceil_pads_include": lambda: pool("AveragePool", shape=(2, 3, 10, 10), kernel_shape=[3, 3],
                                              strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1,
                                              opset=19),  # onnxruntime < opset 19 also counts the ceil overhang
    "avgpool_same_upper": lambda: pool("AveragePool", kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    "global_avgpool": lambda: pool("GlobalAveragePool"),
    "reducemean_keepdims": lambda: mk([node("ReduceMean", ["x"], axes=[2, 3], keepdims=1)], opset=13),
    "reducemean_flat_negative_axes": lambda: mk([node("ReduceMean", ["x"], axes=[-1, -2], keepdims=0)], opset=13),
    "reducemean_axes_input": lambda: mk([node("ReduceMean", ["x", "ax"], keepdims=1)], {"ax": i64(2, 3)}, opset=18),
    "add_residual": lambda: mk([node("Relu", ["x"], "r"), node("Add", ["r", "x"])]),
    "sum_three": lambda: mk([node("Relu", ["x"], "r"), node("Sum", ["x", "r", "x"])]),
    "add_const_channel": lambda: mk([node("Add", ["c", "x"])], {"c": w(1, 4, 1, 1)}),
    "add_const_scalar": lambda: mk([node("Add", ["x", "c"])], {"c": f32(0.3)}),
    "sub_x_minus_c": lambda: mk([node("Sub", ["x", "c"])], {"c": w(4, 1, 1)}),
    "sub_c_minus_x": lambda: mk([node("Sub", ["c", "x"])], {"c": w(4, 1, 1)}),
    "mul_const": lambda: mk([node("Mul", ["x", "c"])], {"c": w(1, 4, 1, 1)}),
    "div_const": lambda: mk([node("Div", ["x", "c"])], {"c": np.abs(w(4, 1, 1)) + 0.5}),
    "concat_axis1": lambda: mk([node("Relu", ["x"], "r"), node("Concat", ["x", "r", "x"], axis=1)]),
    "concat_axis_neg3": lambda: mk([node("Relu", ["x"], "r"), node("Concat", ["r", "x"], axis=-3)]),
    "flatten_gemm": lambda: mk([node("Flatten", ["x"], "f"), node("Relu", ["f"])], shape=(2, 3, 4, 4)),
    "reshape_shape_chain": lambda: mk([
        node("Shape", ["x"], "s"), node("Gather", ["s", "zero"], "b", axis=0),
        node("Unsqueeze", ["b", "ax0"], "bu"), node("Concat", ["bu", "minus1"], "tgt", axis=0),
        node("Reshape", ["x", "tgt"], "f"), node("Relu", ["f"])],
        {"zero": np.asarray(0, np.int64), "ax0": i64(0), "minus1": i64(-1)}, shape=(2, 3, 4, 4)),
    "reshape_identity_fixed": lambda: mk([node("Reshape", ["x", "s"], "r"), node("Relu", ["r"])],
                                         {"s": i64(0, 4, 8, 8)}),
    "reshape_to_vector_then_back": lambda: mk([node("Reshape", ["x", "s1"], "v"), node("Relu", ["v"], "rv"),
                                               node("Reshape", ["rv", "s2"])],
                                              {"s1": i64(-1, 256), "s2": i64(-1, 4, 8, 8)}),
    "identity_dropout": lambda: mk([node("Identity", ["x"], "i"), node("Dropout", ["i"], "d"),
                                    node("Relu", ["d"])], opset=13),
    "pad_constant_input": lambda: mk([node("Pad", ["x", "p", "v"])], {"p": i64(0, 0, 1, 2, 0, 0, 3, 0),
                                                                      "v": f32(0.25)}, opset=13),
    "pad_axes_opset18": lambda: mk([node("Pad", ["x", "p", "", "ax"])], {"p": i64(1, 1, 2, 0), "ax": i64(2, 3)},
                                   opset=18),
    "pad_attr_opset2": lambda: mk([node("Pad", ["x"], pads=[0, 0, 1, 1, 0, 0, 1, 1], value=-1.0)], opset=2),
    "channel_shuffle": lambda: mk([node("Reshape", ["x", "s1"], "a"), node("Transpose", ["a"], "t",
                                                                         perm=[0, 2, 1, 3, 4]),
                                   node("Reshape", ["t", "s2"], "sh"), node("Relu", ["sh"])],
                                  {"s1": i64(-1, 2, 2, 8, 8), "s2": i64(-1, 4, 8, 8)}),
    "channel_shuffle_flatten": lambda: mk([node("Reshape", ["x", "s1"], "a"), node("Transpose", ["a"], "t",
                                                                                   perm=[0, 2, 1, 3, 4]),
                                           node("Flatten", ["t"], "f"), node("Relu", ["f"])],
                                          {"s1": i64(-1, 2, 2, 3, 3)}, shape=(2, 4, 3, 3)),
    "resize_nearest_asym_floor": lambda: mk([node("Resize", ["x", "", "sc"], mode="nearest",
                                                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                                            {"sc": f32(1, 1, 2, 2)}, opset=13),
    "resize_nearest_half_pixel": lambda: mk([node("Resize", ["x", "", "sc"], mode="nearest")],
                                            {"sc": f32(1, 1, 3, 2)}, opset=13),
    "resize_linear_half_pixel": lambda: mk([node("Resize", ["x", "", "sc"], mode="linear")],
                                           {"sc": f32(1, 1, 2, 2)}, opset=13),
    "resize_linear_align_corners": lambda: mk([node("Resize", ["x", "", "", "sz"], mode="linear",
                                                    coordinate_transformation_mode="align_corners")],
                                              {"sz": i64(2, 4, 13, 11)}, opset=13),
    "resize_linear_pytorch_half_pixel": lambda: mk([node("Resize", ["x", "", "", "sz"], mode="linear",
                                                         coordinate_transformation_mode="pytorch_half_pixel")],
                                                   {"sz": i64(2, 4, 5, 12)}, opset=13),
    "resize_nearest_down_sizes": lambda: mk([node("Resize", ["x", "", "", "sz"], mode="nearest")],
                                            {"sz": i64(2, 4, 4, 3)}, opset=13),
    "resize_nearest_round_prefer_ceil": lambda: mk([node("Resize", ["x", "", "", "sz"], mode="nearest",
                                                         nearest_mode="round_prefer_ceil")],
                                                   {"sz": i64(2, 4, 12, 20)}, opset=13),
    "resize_nearest_ceil_align_corners": lambda: mk([node("Resize", ["x", "", "", "sz"], mode="nearest",
                                                          nearest_mode="ceil",
                                                          coordinate_transformation_mode="align_corners")],
                                                    {"sz": i64(2, 4, 5, 11)}, opset=13),
    "resize_opset11_roi": lambda: mk([node("Resize", ["x", "roi", "sc"], mode="nearest",
                                           coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                                     {"roi": f32(), "sc": f32(1, 1, 2, 2)}, opset=11),
    "resize_opset19_axes": lambda: mk([node("Resize", ["x", "", "sc"], mode="linear", axes=[2, 3])],
                                      {"sc": f32(2, 2)}, opset=19),
    "resize_opset10_nearest": lambda: mk([node("Resize", ["x", "sc"], mode="nearest")], {"sc": f32(1, 1, 2, 3)},
                                         opset=10),
    "resize_opset10_linear": lambda: mk([node("Resize", ["x", "sc"], mode="linear")], {"sc": f32(1, 1, 2, 2)},
                                        opset=10),
    "upsample_nearest_opset9": lambda: mk([node("Upsample", ["x", "sc"], mode="nearest")],
                                          {"sc": f32(1, 1, 2, 2)}, opset=9),
    "upsample_linear_opset9": lambda: mk([node("Upsample", ["x", "sc"], mode="linear")],
                                         {"sc": f32(1, 1, 2, 2)}, opset=9),
    "squeeze_after_pool": lambda: mk([node("GlobalAveragePool", ["x"], "g"), node("Squeeze", ["g", "ax"], "s"),
                                      node("Gemm", ["s", "W"], transB=1)], {"ax": i64(2, 3), "W": w(3, 4)}, opset=13),
    "squeeze_attr_opset11": lambda: mk([node("GlobalAveragePool", ["x"], "g"), node("Squeeze", ["g"], "s", axes=[3, 2]),
                                        node("Relu", ["s"])], opset=11),
    "unsqueeze_to_map": lambda: mk([node("Flatten", ["x"], "f"), node("Unsqueeze", ["f", "ax"], "u"),
                                    node("Conv", ["u", "W"])], {"ax": i64(-1, 2), "W": w(2, 16, 1, 1)},
                                   shape=(2, 4, 2, 2), opset=13),
    "transpose_identity_perm": lambda: mk([node("Transpose", ["x"], "t", perm=[0, 1, 2, 3]), node("Relu", ["t"])]),
    "shape_start_end_opset15": lambda: mk([node("Shape", ["x"], "s", start=1), node("Concat", ["m1", "s"], "tg", axis=0),
                                           node("Reshape", ["x", "tg"], "r"), node("Relu", ["r"])],
                                          {"m1": i64(-1)}, opset=15),
    "dropout_opset12_ratio": lambda: mk([node("Dropout", ["x", "ratio"], ["d", "mask"]), node("Relu", ["d"])],
                                        {"ratio": np.float32(0.5)}, opset=12),
    "pad_opset11_default_value": lambda: mk([node("Pad", ["x", "p"])], {"p": i64(0, 0, 2, 1, 0, 0, 0, 3)}, opset=11),
    "constant_node_bias": lambda: mk([helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(
        w(1, 4, 1, 1))), node("Add", ["x", "c"])]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_onnxruntime(ort, case):
    m, shape = CASES[case]()
    check(ort, m, shape)


@pytest.mark.parametrize("opset", range(11, 22))
def test_every_opset_11_to_21(ort, opset):
    axes = {"axes": [2, 3]} if opset < 18 else {}
    nodes = [node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]), node("Clip", ["c", "lo", "hi"], "r"),
             node("MaxPool", ["r"], "p", kernel_shape=[2, 2], strides=[2, 2]),
             node("ReduceMean", ["p"] + (["ax"] if opset >= 18 else []), "m", keepdims=0, **axes),
             node("Gemm", ["m", "FW", "FB"], transB=1)]
    inits = {"W": w(6, 4, 3, 3), "B": w(6), "lo": f32(0), "hi": f32(1), "FW": w(3, 6), "FB": w(3), "ax": i64(2, 3)}
    m, shape = mk(nodes, inits, opset=opset)
    g, _, _ = check(ort, m, shape)
    assert g.meta["source"]["opset"] == opset and g.meta["notes"] == []


def test_matmul_add_becomes_one_linear(ort):
    m, shape = CASES["matmul_add_bias"]()
    g, _, _ = check(ort, m, shape)
    assert [n.type for n in g][1:] == ["Flatten", "Linear"] and g.nodes[-1].op.bias is not None


def test_channel_shuffle_is_one_permute(ort):
    m, shape = CASES["channel_shuffle"]()
    g, _, _ = check(ort, m, shape)
    assert [n.type for n in g] == ["Input", "ChannelPermute", "ReLU"]
    assert g.nodes[1].op.perm.tolist() == [0, 2, 1, 3]


def test_final_softmax_dropped_with_note(ort):
    m, shape = mk([node("Flatten", ["x"], "f"), node("Gemm", ["f", "W"], "logits", transB=1),
                   node("Softmax", ["logits"], axis=1)], {"W": w(5, 256)})
    g, got, ref = check(ort, m, shape, drop_final=True)
    assert dict(g.meta["onnx_tensors"])["logits"] == g.outputs[0]   # compared with onnxruntime by check
    assert any("Softmax" in n for n in g.meta["notes"])
    assert (got[g.outputs[0]].argmax(1) == ref["y"].argmax(1)).all()


def test_final_log_softmax_dropped(ort):
    m, shape = mk([node("Flatten", ["x"], "f"), node("Gemm", ["f", "W"], "logits", transB=1),
                   node("LogSoftmax", ["logits"], axis=1)], {"W": w(5, 256)}, opset=13)
    g, got, ref = check(ort, m, shape, drop_final=True)
    assert dict(g.meta["onnx_tensors"])["logits"] == g.outputs[0]   # compared with onnxruntime by check
    assert g.nodes[-1].type == "Linear" and "LogSoftmax" in g.meta["notes"][0]


def test_node_names_and_meta(tmp_path):
    m, _ = mk([node("Relu", ["x"], "a/b:0"), node("Relu", ["a/b:0"], "a_b_0"), node("Relu", ["a_b_0"])])
    p = tmp_path / "m.onnx"
    onnx.save(m, p)
    g = load_onnx(p)
    assert [n.name for n in g] == ["x", "a_b_0", "a_b_0_1", "y"]
    src = g.meta["source"]
    assert src["path"] == str(p) and src["opset"] == 17 and len(src["sha256"]) == 64


def test_fixed_batch_and_input_shape_override(ort):
    m, _ = mk([node("Relu", ["x"])], shape=(1, 4, 8, 8))
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    m.graph.input[0].type.tensor_type.shape.dim[3].dim_param = "W"
    assert load_onnx(m, input_shape=(1, 4, 5, 6)).node("x").shape == (4, 5, 6)
    assert load_onnx(m, input_shape=(4, 5, 6)).node("x").shape == (4, 5, 6)
