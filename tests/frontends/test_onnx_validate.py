"""Invalid ONNX models are refused before conversion, each with one error naming node, attribute, what is valid.

Every family is also given to the independent oracles, onnx's checker (full
mode) and onnxruntime (session + one run): the model is invalid when one of
them refuses it. Where both accept it, snnc's reason is stated in ``WHY``.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper as H
from onnx import numpy_helper as NH

from snnc.compiler.errors import GraphError, ModelLoadError, UnsupportedModelError
from snnc.frontends.onnx import load_onnx

W = np.ones((4, 3, 3, 3), np.float32)


def mk(nodes, inits=None, shape=(1, 3, 8, 8), out=None, in_type=TP.FLOAT, outputs=None, opsets=None, opset=17):
    x = H.make_tensor_value_info("x", in_type, list(shape))
    if outputs is None:
        outputs = [H.make_tensor_value_info(nodes[-1].output[0], in_type, list(out or shape))]
    inits = [v if isinstance(v, onnx.TensorProto) else NH.from_array(np.asarray(v), k)
             for k, v in (inits or {}).items()]
    m = H.make_model(H.make_graph(nodes, "t", [x], outputs, inits),
                     opset_imports=opsets or [H.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def relu(**kw):
    return mk([H.make_node("Relu", ["x"], ["y"], name="r")], **kw)


def conv(w=W, out=(1, 4, 6, 6), **at):
    return mk([H.make_node("Conv", ["x", "W"], ["y"], name="conv1", **at)], {"W": w}, out=out)


def bf16_conv():
    t = onnx.TensorProto(name="W", data_type=TP.BFLOAT16, dims=W.shape)
    t.raw_data = (W.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    return conv(w=t)


def gemm(bias):
    return mk([H.make_node("Flatten", ["x"], ["f"], name="flat"),
               H.make_node("Gemm", ["f", "W", "B"], ["y"], name="fc", transB=1)],
              {"W": np.ones((10, 192), np.float32), "B": bias}, out=(1, 10))


def reshape(target, dtype=np.int64, out=(1, 192), **at):
    return mk([H.make_node("Reshape", ["x", "s"], ["y"], name="rs", **at)], {"s": np.asarray(target, dtype)},
              out=out)


# family -> (model builder, error class, message pattern naming node / attribute / what is valid)
FAMILIES = {
    "no_outputs": (lambda: relu(outputs=[]), ModelLoadError, "no graph outputs"),
    "future_opset": (lambda: relu(opset=999), ModelLoadError, "opset 999, newer .* export with opset <="),
    "domain_twice": (lambda: relu(opsets=[H.make_opsetid("", 17), H.make_opsetid("ai.onnx", 13)]),
                     ModelLoadError, "default ONNX domain 2 times"),
    "init_int64": (lambda: conv(w=W.astype(np.int64)), GraphError, "'conv1' \\(Conv\\).*tensor\\(int64\\)"),
    "init_int32": (lambda: conv(w=W.astype(np.int32)), GraphError, "'conv1' \\(Conv\\).*tensor\\(int32\\)"),
    "init_int8": (lambda: conv(w=W.astype(np.int8)), GraphError, "'conv1' \\(Conv\\).*tensor\\(int8\\)"),
    "init_float16": (lambda: conv(w=W.astype(np.float16)), GraphError, "'conv1' \\(Conv\\).*tensor\\(float16\\)"),
    "init_bfloat16": (bf16_conv, GraphError, "'conv1' \\(Conv\\).*tensor\\(bfloat16\\)"),
    "init_double": (lambda: conv(w=W.astype(np.float64)), GraphError, "'conv1' \\(Conv\\).*tensor\\(double\\)"),
    "input_double": (lambda: relu(in_type=TP.DOUBLE), GraphError, "input 'x'.*DOUBLE.*valid: FLOAT"),
    "input_float16": (lambda: relu(in_type=TP.FLOAT16), GraphError, "input 'x'.*FLOAT16.*valid: FLOAT"),
    "conv_dilations_0": (lambda: conv(dilations=[0, 0]), GraphError,
                         "'conv1' \\(Conv\\): attribute dilations=\\[0, 0\\].*valid: 2 integers >= 1"),
    "conv_kernel_shape": (lambda: conv(out=None, kernel_shape=[5, 5]), GraphError,
                          "'conv1' \\(Conv\\): attribute kernel_shape=\\[5, 5\\].*weight's kernel size \\[3, 3\\]"),
    "conv_auto_pad_value": (lambda: conv(auto_pad="SAME"), GraphError,
                            "'conv1' \\(Conv\\): attribute auto_pad='SAME'.*valid: NOTSET, SAME_UPPER"),
    "conv_auto_pad_and_pads": (lambda: conv(out=None, auto_pad="SAME_UPPER", pads=[1, 1, 1, 1]), GraphError,
                               "'conv1' \\(Conv\\): attribute pads=\\[1, 1, 1, 1\\].*no pads with auto_pad"),
    "gemm_bias": (lambda: gemm(np.ones(7, np.float32)), GraphError,
                  "'fc' \\(Gemm\\): bias C of shape \\[7\\].*valid: a scalar, \\(10,\\)"),
    "reshape_two_minus_one": (lambda: reshape([1, -1, -1], out=None), GraphError,
                              "'rs' \\(Reshape\\).*more than one -1"),
    "reshape_minus_two": (lambda: reshape([1, -2, 64], out=None), GraphError, "'rs' \\(Reshape\\).*entry -2"),
    "reshape_allowzero": (lambda: reshape([1, 0, 192], out=(1, 0, 192), allowzero=1), GraphError,
                          "'rs' \\(Reshape\\).*allowzero=1 makes an empty"),
    "reshape_folds_batch": (lambda: reshape([-1], out=(192,)), UnsupportedModelError,
                            "'rs' \\(Reshape\\).*folding the batch axis"),
    "reshape_int32_shape": (lambda: reshape([1, 192], dtype=np.int32), GraphError,
                            "'rs' \\(Reshape\\).*int32.*valid: an int64"),
    "batch_0": (lambda: relu(shape=(0, 3, 8, 8)), GraphError, "input 'x'.*batch dimension 0"),
}

# families onnx's checker and onnxruntime both accept, and why snnc refuses them
WHY = {
    "domain_twice": "two opsets for one domain leave the ops' version ambiguous (the checker does not look)",
    "input_double": "a consistent float64 model is valid ONNX, but snnc computes in float32: another network",
    "input_float16": "a consistent float16 model is valid ONNX, but snnc computes in float32: another network",
    "reshape_folds_batch": "valid ONNX, but snnc keeps the batch axis separate (unsupported, exit 4)",
    "batch_0": "an empty batch is valid ONNX but no network to convert",
}


def _refused_by_onnx(m: onnx.ModelProto, ort) -> bool:
    """True when onnx's full checker or onnxruntime (session creation or one run on zeros) refuses ``m``."""
    try:
        onnx.checker.check_model(m, full_check=True)
        opts = ort.SessionOptions()
        opts.log_severity_level = 4  # quiet: the refusal is the expected outcome
        s = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        i = s.get_inputs()[0]
        dt = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}[i.type]
        s.run(None, {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], dt)})
    except Exception:  # noqa: BLE001 - any refusal counts
        return True
    return False


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_invalid_family_is_refused_with_one_clear_error(family, ort):
    build, cls, pattern = FAMILIES[family]
    m = build()
    with pytest.raises(cls, match=pattern) as e:
        load_onnx(m)
    assert "\n" not in str(e.value)  # one problem: one line
    assert _refused_by_onnx(m, ort) == (family not in WHY), f"{family}: update WHY"


def test_every_broken_node_is_listed_in_one_error():
    nodes = [H.make_node("Conv", ["x", "W"], ["a"], name="c1", dilations=[0, 1]),
             H.make_node("Conv", ["a", "W2"], ["y"], name="c2", auto_pad="SAME")]
    m = mk(nodes, {"W": np.ones((3, 3, 1, 1), np.float32), "W2": np.ones((3, 3, 1, 1), np.float32)})
    with pytest.raises(GraphError, match="2 invalid node") as e:
        load_onnx(m)
    assert "'c1' (Conv): attribute dilations" in str(e.value) and "'c2' (Conv): attribute auto_pad" in str(e.value)


def test_reshape_target_from_folded_constants_is_checked_by_the_handler():
    """A target computed at conversion (Concat of constants) escapes the pre-check; the handler applies the rule."""
    minus = H.make_node("Constant", [], ["m"], name="m", value=NH.from_array(np.array([-1], np.int64)))
    nodes = [minus, H.make_node("Concat", ["m", "m", "m"], ["s"], name="cat", axis=0),
             H.make_node("Reshape", ["x", "s"], ["y"], name="rs")]
    m = mk(nodes, out=(1, 3, 64))
    with pytest.raises(GraphError, match="'rs' \\(Reshape\\).*more than one -1"):
        load_onnx(m)


def test_inspect_and_compile_report_the_same_error(tmp_path, capsys):
    from snnc.cli import main
    p = tmp_path / "bad.onnx"
    onnx.save(FAMILIES["conv_auto_pad_value"][0](), p)
    errors = []
    for argv in (["inspect", str(p)], ["compile", str(p), "--calib", "x.npz", "-o", str(tmp_path / "a.snnc")]):
        assert main(argv) == GraphError.exit_code
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "Traceback" not in err
        errors.append(err.strip())
    assert errors[0] == errors[1] and "auto_pad='SAME'" in errors[0]
    assert not (tmp_path / "a.snnc").exists()


def test_valid_models_still_convert():
    g = load_onnx(conv(auto_pad="SAME_UPPER", out=(1, 4, 8, 8), kernel_shape=[3, 3]))
    assert g.node("y").shape == (4, 8, 8)
    assert load_onnx(gemm(np.ones((1, 10), np.float32))).node("y").shape == (10,)
    assert load_onnx(reshape([0, -1])).node("y").shape == (192,)


def _conv_bn(var=None, gamma=None):
    c = np.ones(4, np.float32)
    nodes = [H.make_node("Conv", ["x", "W"], ["c"], name="conv1"),
             H.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], name="bn1")]
    return mk(nodes, {"W": W, "g": c if gamma is None else gamma, "b": 0 * c, "m": 0 * c,
                      "v": c if var is None else var}, out=(1, 4, 6, 6))


def _div_by(z):
    return mk([H.make_node("Div", ["x", "z"], ["y"], name="div1")], {"z": z})


def _cast_of(big):
    nodes = [H.make_node("Cast", ["big"], ["w"], name="cast1", to=TP.FLOAT),
             H.make_node("Conv", ["x", "w"], ["y"], name="conv1")]
    return mk(nodes, {"big": big}, out=(1, 4, 6, 6))


# hostile numbers: each is its own error naming the node (ORT computes NaN / inf silently)
NUMERIC = {
    "bn_negative_variance": (lambda: _conv_bn(var=np.array([1, -1, 1, 1], np.float32)),
                             "'bn1' \\(BatchNormalization\\): batch norm variance .* at channel 1 .*valid: variance"),
    "div_by_zero": (lambda: _div_by(np.zeros((3, 1, 1), np.float32)), "'div1' \\(Div\\).*divide by zero"),
    "cast_overflow": (lambda: _cast_of(np.full(W.shape, 1e300)), "'big' does not fit in float32"),
    "gemm_alpha_overflow": (lambda: mk([H.make_node("Flatten", ["x"], ["f"], name="flat"),
                                        H.make_node("Gemm", ["f", "Wg"], ["y"], name="fc", alpha=1e38, transB=1)],
                                       {"Wg": np.full((10, 192), 10, np.float32)}, out=(1, 10)),
                            "'fc' \\(Gemm\\).*overflow"),
}


@pytest.mark.parametrize("case", sorted(NUMERIC))
def test_hostile_numbers_are_errors_not_warnings(case, recwarn):
    build, pattern = NUMERIC[case]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GraphError, match=pattern):
            load_onnx(build())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_cli_negative_variance_prints_only_the_error(tmp_path, capsys):
    from snnc.cli import main
    p = tmp_path / "bn.onnx"
    onnx.save(NUMERIC["bn_negative_variance"][0](), p)
    assert main(["compile", str(p), "--calib", "mnist", "-o", str(tmp_path / "a.snnc")]) == GraphError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: node 'bn1'") and err.count("\n") == 1 and "Warning" not in err


def test_initializer_whose_data_does_not_fill_its_dims_is_one_error(tmp_path):
    """onnx's checker does not compare raw_data with dims (found by the fuzz suite: shape_lie)."""
    from ..fuzz.session import bases
    m = onnx.load_model_from_string(bases().models["small"][0])
    w = next(i for i in m.graph.initializer if i.name == "W")
    w.dims[3] = 2                            # 72 stored values, dims say 48
    (tmp_path / "m.onnx").write_bytes(m.SerializeToString())
    with pytest.raises(ModelLoadError, match=r"initializer 'W' does not decode to its declared dims"):
        load_onnx(str(tmp_path / "m.onnx"))
