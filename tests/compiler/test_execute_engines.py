"""The executor's torch engine (compiler/execute/torch_conv.py) against the NumPy oracle.

The torch engine differs from the NumPy kernels in the convolution only, so:
each convolution against the float64 oracle within the float32 bound of its
k-term sums (as the NumPy kernel is held, test_execute_kernels.py); whole
trained networks (grouped, depthwise, asymmetric padding, strides) against the
NumPy engine within the accumulated float32 bound of the network
(``oracles.assert_network_close``); non-finite values name the node on both
engines; and without torch the ``fast`` engine is NumPy (the compile path
needs no torch).
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snnc.compiler.errors import DataError
from snnc.compiler.execute import apply, engine_name, run
from snnc.compiler.ir import Conv2d, Graph, Input, IFNeuron

from ..oracles import assert_f32_sums_close, assert_network_close, conv_terms
from .test_execute_kernels import SETTINGS, conv_case, conv_inputs

SUITE = Path(__file__).resolve().parents[2] / "examples" / "suite"


@SETTINGS
@given(case=conv_case(), seed=st.integers(0, 2 ** 16))
def test_torch_conv_matches_float64_oracle(torch, case, seed):
    x, w, b, op = conv_inputs(case, seed)
    F = torch.nn.functional

    def conv64(x, w, b):   # torch in float64 without the engine's code path: the exact sums within 1e-16
        xt = F.pad(torch.from_numpy(x.astype(np.float64)), (op.padding[1], op.padding[3], op.padding[0], op.padding[2]))
        bt = None if b is None else torch.from_numpy(b.astype(np.float64))
        return F.conv2d(xt, torch.from_numpy(w.astype(np.float64)), bt, op.stride, 0, op.dilation, op.groups).numpy()
    abs_sum = conv64(np.abs(x), np.abs(w), None if b is None else np.abs(b))
    got = apply(op, x, engine="torch")
    assert got.dtype == np.float32 and got.flags.c_contiguous
    assert_f32_sums_close(got, conv64(x, w, b), conv_terms(op), abs_sum)


@pytest.mark.parametrize("name", ["mobilenet", "densenet", "resnet"])
def test_torch_engine_runs_trained_networks_as_numpy(torch, name, rng):
    import snnc
    graph = snnc.load_onnx(str(SUITE / f"{name}.onnx"))
    x = rng.random((4, 1, 28, 28), dtype=np.float32)
    got = run(graph, x, engine="torch")[graph.outputs[0]]
    want = run(graph, x, engine="numpy")[graph.outputs[0]]
    assert_network_close(graph, x, got, want, name)


def test_torch_graph_runs_trained_networks_and_every_op_as_numpy(torch, rng):
    """execute.runner's whole-graph torch program (torch_graph) against the NumPy engine: the suite networks
    (open, clip-ANN and source graphs) and a graph with the ops it leaves to NumPy kernels (padded and
    ceil-mode pools, Pad, Resize) or maps itself (BatchNorm, permute, slice, concat, Clip, ReLU)."""
    import snnc
    from snnc.compiler.calibrate.loop import open_graph
    from snnc.compiler.execute import runner
    from snnc.compiler.ir import (AvgPool2d, BatchNorm, ChannelPermute, ChannelSlice, Clip, Concat, MaxPool2d, Pad,
                                  ReLU, Resize)
    x = rng.random((4, 1, 28, 28), dtype=np.float32)
    graphs = []
    for name in ("mobilenet", "densenet", "resnet", "vgg"):
        g = snnc.load_onnx(str(SUITE / f"{name}.onnx"))
        graphs += [(name, g), (name + " open", open_graph(g)[0])]
    c = 4
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    f32 = lambda a: np.asarray(a, np.float32)   # noqa: E731
    g = Graph.build([("x", Input(shape=(1, 28, 28)), []),
                     ("conv", Conv2d(w, f32(rng.standard_normal(c)), stride=(2, 1), padding=(1, 0, 2, 1)), ["x"]),
                     ("bn", BatchNorm(f32(rng.random(c) + 0.5), f32(rng.standard_normal(c)),
                                      f32(rng.standard_normal(c)), f32(rng.random(c) + 0.5)), ["conv"]),
                     ("relu", ReLU(), ["bn"]),
                     ("mp", MaxPool2d(kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), ceil_mode=True), ["relu"]),
                     ("ap", AvgPool2d(kernel=(2, 2), stride=(2, 2), ceil_mode=True), ["mp"]),
                     ("pad", Pad(pads=(1, 0, 0, 1), value=0.5), ["ap"]),
                     ("rs", Resize(size=(9, 9), mode="linear", coord="half_pixel"), ["pad"]),
                     ("perm", ChannelPermute(perm=np.array([3, 1, 0, 2])), ["rs"]),
                     ("sl", ChannelSlice(start=1, stop=3), ["perm"]),
                     ("clip", Clip(lo=0.0, hi=1.5), ["sl"]),
                     ("cat", Concat(), ["clip", "perm"]),
                     ("n", IFNeuron(threshold=f32(rng.random(6) + 0.5), v_init=np.zeros(6, np.float32)), ["cat"])],
                    ["n"])
    graphs.append(("every op", g))
    for name, graph in graphs:
        got = runner(graph, "torch")(x)[graph.outputs[0]]
        want = run(graph, x, engine="numpy")[graph.outputs[0]]
        assert got.dtype == np.float32
        assert_network_close(graph, x, got, want, name)


@pytest.mark.parametrize("engine", ["numpy", "torch", "torch graph"])
def test_overflow_names_the_node_on_both_engines(torch, engine):
    w = np.full((2, 1, 1, 1), 3e38, np.float32)
    g = Graph.build([("x", Input(shape=(1, 3, 3)), []), ("conv", Conv2d(w, None), ["x"]),
                     ("n", IFNeuron(threshold=np.ones(2, np.float32), v_init=np.zeros(2, np.float32)), ["conv"])],
                    ["n"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="'conv' \\(Conv2d\\) overflows float32"):
            x = np.full((1, 1, 3, 3), 100.0, np.float32)
            if engine == "torch graph":
                from snnc.compiler.execute import runner
                runner(g, "torch")(x)
            else:
                run(g, x, engine=engine)


def test_fast_engine_is_torch_when_installed_unless_disabled(torch, monkeypatch):
    assert engine_name("fast") == "torch" and engine_name("numpy") == "numpy"
    monkeypatch.setenv("SNNC_ENGINE", "numpy")
    assert engine_name("fast") == "numpy"
    with pytest.raises(ValueError, match="unknown executor engine"):
        engine_name("cuda")


BLOCKED = """
import json, sys
sys.modules["torch"] = None          # torch is not installed, as far as this process can tell
import numpy as np
from snnc.compiler.calibrate import calibrate
from snnc.compiler.ir import Conv2d, Graph, Input, IFNeuron
rng = np.random.default_rng(0)
g = Graph.build([("x", Input(shape=(1, 6, 6)), []),
                 ("conv", Conv2d(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), None, padding=(1, 1, 1, 1)), ["x"]),
                 ("n", IFNeuron(threshold=np.full(3, np.inf, np.float32), v_init=np.zeros(3, np.float32)), ["conv"])],
                ["n"])
rec = calibrate(g, rng.random((40, 1, 6, 6), dtype=np.float32), iters=3, batch_size=10).info["calibration"]
print("PROBE " + json.dumps({"engine": rec["engine"], "torch": sys.modules.get("torch") is not None}))
"""


def test_calibration_runs_without_torch(tmp_path):
    res = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    line = next((l for l in res.stdout.splitlines() if l.startswith("PROBE ")), None)
    assert line is not None, res.stderr
    assert json.loads(line[6:]) == {"engine": "numpy", "torch": False}
