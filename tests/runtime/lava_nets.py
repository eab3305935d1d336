"""Small IF networks built directly with the IR for the Lava tests (unit thresholds, v_init 0.5).

Weights are dyadic (multiples of 1/64) so float32 (NumPy simulator) and float64
(Lava) arithmetic give bit-identical membranes: spike counts can be compared exactly.
"""
import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import (Add, AvgPool2d, ChannelAffine, Concat, Conv2d, Flatten, GlobalAvgPool2d,
                                  IFNeuron, Input, Linear, MaxPool2d)


def dyadic(a):
    return (np.round(np.asarray(a) * 64) / 64).astype(np.float32)


def if_layer(c):
    """c IF neurons with unit thresholds and v_init 0.5."""
    return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))


_if = if_layer


def stem(w, rng, c=4):
    """x (1, 6, 6) -> padded 3x3 conv of c channels (weights ``w(rng, *shape)``) -> IF: the spec of a test net's
    first layer."""
    return [("x", Input((1, 6, 6)), []), ("c0", Conv2d(w(rng, c, 1, 3, 3), w(rng, c), padding=(1,) * 4), ["x"]),
            ("n0", if_layer(c), ["c0"])]


def _conv(rng, o, i, k, pad, scale=0.5):
    return Conv2d(dyadic(rng.normal(0, scale, (o, i, k, k))), dyadic(rng.normal(0.05, 0.1, o)),
                  padding=(pad,) * 4)


def residual_pool_net(rng, pool_modes=("cumulative", "pre-neuron")) -> Graph:
    """conv-IF, a residual block (conv-IF-conv + gain skip), max pools over currents, dense readout."""
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", _conv(rng, 4, 1, 3, 1, 0.8), ["x"]), ("n1", _if(4), ["c1"]),
            ("c2", _conv(rng, 4, 4, 3, 1), ["n1"]), ("n2", _if(4), ["c2"]),
            ("c3", _conv(rng, 4, 4, 3, 1), ["n2"]),
            ("skip", ChannelAffine(dyadic(rng.uniform(0.5, 1.0, 4)), np.zeros(4, np.float32)), ["n1"]),
            ("add", Add(), ["c3", "skip"]),
            ("p3", MaxPool2d(mode=pool_modes[0]), ["add"]), ("n3", _if(4), ["p3"]),
            ("c4", _conv(rng, 6, 4, 3, 1), ["n3"]),
            ("p4", MaxPool2d(mode=pool_modes[1]), ["c4"]), ("n4", _if(6), ["p4"]),
            ("f", Flatten(), ["n4"]),
            ("out", Linear(dyadic(rng.normal(0, 0.3, (5, 24))), dyadic(rng.normal(0, 0.1, 5))), ["f"])]
    return Graph.build(spec, ["out"])


def residual_avg_net(rng) -> Graph:
    """residual_pool_net without max pools (stock processes can run it): a residual block whose gain
    skip is one step shorter than the conv branch, a stride-2 conv, GAP -> dense readout."""
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", _conv(rng, 4, 1, 3, 1, 0.8), ["x"]), ("n1", _if(4), ["c1"]),
            ("c2", _conv(rng, 4, 4, 3, 1), ["n1"]), ("n2", _if(4), ["c2"]),
            ("c3", _conv(rng, 4, 4, 3, 1), ["n2"]),
            ("skip", ChannelAffine(dyadic(rng.uniform(0.5, 1.0, 4)), np.zeros(4, np.float32)), ["n1"]),
            ("add", Add(), ["c3", "skip"]), ("n3", _if(4), ["add"]),
            ("c4", Conv2d(dyadic(rng.normal(0, 0.5, (6, 4, 3, 3))), dyadic(rng.normal(0.05, 0.1, 6)),
                          stride=(2, 2), padding=(1,) * 4), ["n3"]), ("n4", _if(6), ["c4"]),
            ("g", GlobalAvgPool2d(), ["n4"]), ("f", Flatten(), ["g"]),
            ("out", Linear(dyadic(rng.normal(0, 1.0, (5, 6))), dyadic(rng.normal(0, 0.1, 5))), ["f"])]
    return Graph.build(spec, ["out"])


def avgpool_net(rng) -> Graph:
    """conv-IF, average pool as a depthwise conv, conv-IF, global average pool, dense readout."""
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", _conv(rng, 4, 1, 3, 1, 0.8), ["x"]), ("n1", _if(4), ["c1"]),
            ("a1", AvgPool2d(), ["n1"]),
            ("c2", _conv(rng, 4, 4, 3, 1), ["a1"]), ("n2", _if(4), ["c2"]),
            ("g", GlobalAvgPool2d(), ["n2"]), ("f", Flatten(), ["g"]),
            ("out", Linear(dyadic(rng.normal(0, 0.5, (3, 4))), None), ["f"])]
    return Graph.build(spec, ["out"])


def transition_net(rng) -> Graph:
    """A DenseNet-style transition (conv -> average pool -> IF: a current pooled before the neuron) and a
    global average pool before the classifier (IF spikes -> GAP -> flatten -> dense readout)."""
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", _conv(rng, 4, 1, 3, 1, 0.8), ["x"]), ("n1", _if(4), ["c1"]),
            ("c2", _conv(rng, 6, 4, 1, 0, 0.6), ["n1"]), ("t2", AvgPool2d(), ["c2"]), ("n2", _if(6), ["t2"]),
            ("c3", _conv(rng, 6, 6, 3, 1), ["n2"]), ("n3", _if(6), ["c3"]),
            ("g", GlobalAvgPool2d(), ["n3"]), ("f", Flatten(), ["g"]),
            ("out", Linear(dyadic(rng.normal(0, 1.0, (3, 6))), dyadic(rng.normal(0, 0.1, 3))), ["f"])]
    return Graph.build(spec, ["out"])


def concat_net(rng) -> Graph:
    spec = [("x", Input((1, 4, 4)), []),
            ("c1", _conv(rng, 2, 1, 3, 1), ["x"]), ("n1", _if(2), ["c1"]),
            ("c2", _conv(rng, 2, 2, 3, 1), ["n1"]), ("n2", _if(2), ["c2"]),
            ("cat", Concat(), ["n1", "n2"]), ("f", Flatten(), ["cat"]),
            ("out", Linear(dyadic(rng.normal(0, 0.5, (3, 64))), None), ["f"])]
    return Graph.build(spec, ["out"])


def mnist_chain_onnx(n_fit: int = 2000, seed: int = 0):
    """A chain netx can express, as an ONNX model (onnx.helper), with a useful accuracy on MNIST:
    conv(1->8, 3x3, stride 2) -> ReLU -> conv(8->16, 3x3, stride 2) -> ReLU -> flatten -> Gemm(784->10).
    The convs are random features; the Gemm is the ridge-regression fit (closed form, no training loop)
    of one-hot targets on the ReLU features of the first ``n_fit`` MNIST training images."""
    from onnx import TensorProto, helper, numpy_helper
    from snnc.compiler.data.mnist import load_split
    from snnc.compiler.execute import run
    from snnc.compiler.ir.ops import ReLU
    rng = np.random.default_rng(seed)
    x, y = load_split("train")
    x, y = x[:n_fit], y[:n_fit]
    w1 = rng.normal(0, 1 / 3, (8, 1, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 1 / np.sqrt(72), (16, 8, 3, 3)).astype(np.float32)
    conv = dict(stride=(2, 2), padding=(1,) * 4)
    feat = Graph.build([("x", Input((1, 28, 28)), []), ("c1", Conv2d(w1, None, **conv), ["x"]), ("r1", ReLU(), ["c1"]),
                        ("c2", Conv2d(w2, None, **conv), ["r1"]), ("r2", ReLU(), ["c2"])], ["r2"])
    a = np.hstack([run(feat, x)["r2"].reshape(n_fit, -1).astype(np.float64), np.ones((n_fit, 1))])
    sol = np.linalg.solve(a.T @ a + np.eye(a.shape[1]), a.T @ (2 * np.eye(10)[y] - 1))
    w3, b3 = sol[:-1].T.astype(np.float32), sol[-1].astype(np.float32)
    attrs = dict(strides=[2, 2], pads=[1, 1, 1, 1])
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], **attrs), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], **attrs), helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Flatten", ["r2"], ["f"]), helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], transB=1)]
    inits = [numpy_helper.from_array(v, k) for k, v in (("w1", w1), ("w2", w2), ("w3", w3), ("b3", b3))]
    graph = helper.make_graph(nodes, "mnist_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def shifted_residual_net(rng, conv_scale: float = 2.0 ** -5, gain_scale: float = 1.0) -> Graph:
    """Two residual Adds whose branches differ in size by ``gain_scale / conv_scale`` (the suite's ResNet:
    a conv branch of weights ~0.05 beside a skip gain ~1): a conv + gain into a map IF layer, and a
    dense + gain into a vector IF layer. Weights are multiples of 2^-14, so float32 stays exact."""
    fine = lambda a: (np.round(np.asarray(a) * 2 ** 14) / 2 ** 14).astype(np.float32)  # noqa: E731
    gains = lambda c: ChannelAffine(fine(gain_scale * rng.uniform(0.5, 1.0, c)), np.zeros(c, np.float32))  # noqa
    spec = [("x", Input((1, 8, 8)), []),
            ("c1", _conv(rng, 4, 1, 3, 1, 0.8), ["x"]), ("n1", _if(4), ["c1"]),
            ("c2", _conv(rng, 4, 4, 3, 1), ["n1"]), ("n2", _if(4), ["c2"]),
            ("c3", Conv2d(fine(rng.normal(0, conv_scale, (4, 4, 3, 3))), None, padding=(1,) * 4), ["n2"]),
            ("skip", gains(4), ["n1"]), ("add", Add(), ["c3", "skip"]), ("n3", _if(4), ["add"]),
            ("f", Flatten(), ["n3"]),
            ("l1", Linear(dyadic(rng.normal(0, 0.2, (16, 256))), dyadic(rng.normal(0.05, 0.1, 16))), ["f"]),
            ("n4", _if(16), ["l1"]),
            ("l2", Linear(fine(rng.normal(0, conv_scale * 2, (16, 16))), None), ["n4"]),
            ("skip2", gains(16), ["n4"]), ("add2", Add(), ["l2", "skip2"]), ("n5", _if(16), ["add2"]),
            ("out", Linear(dyadic(rng.normal(0, 0.3, (5, 16))), dyadic(rng.normal(0, 0.1, 5))), ["n5"])]
    return Graph.build(spec, ["out"])
