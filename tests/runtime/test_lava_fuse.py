"""Average pools fused into the neighbouring synapse (compiler/lower/fuse.py): the fused graph computes
what the unfused one does (the ANN executor on both is the oracle), the GAP -> Linear weights are the
closed form W[o, c] / (H W), and what does not compose exactly is left alone. No Lava process."""
import numpy as np
import pytest

from snnc.compiler.execute import run
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, Input, Linear
from snnc.compiler.lower.fuse import fuse_avgpools

from ..oracles import assert_network_close, path_terms


def _w(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


CASES = {  # name: (input shape, spec after the input "x"), the output is "out"
    "gap-linear": ((3, 5, 5), lambda r: [("p", GlobalAvgPool2d(), ["x"]), ("f", Flatten(), ["p"]),
                                         ("out", Linear(_w(r, 4, 3), _w(r, 4)), ["f"])]),
    "avgpool(pad, divisor excludes pad)-linear": ((3, 9, 9), lambda r: [
        ("p", AvgPool2d((3, 3), (2, 2), (1, 1, 1, 1)), ["x"]), ("f", Flatten(), ["p"]),
        ("out", Linear(_w(r, 4, 75), None), ["f"])]),
    "avgpool-conv(pad)": ((3, 8, 8), lambda r: [("p", AvgPool2d(), ["x"]),
                                               ("out", Conv2d(_w(r, 4, 3, 3, 3), _w(r, 4), padding=(1,) * 4), ["p"])]),
    "avgpool-conv(stride)": ((3, 9, 9), lambda r: [("p", AvgPool2d(), ["x"]),
                                                  ("out", Conv2d(_w(r, 4, 3, 3, 3), None, stride=(2, 2)), ["p"])]),
    "gap-conv1x1": ((3, 4, 4), lambda r: [("p", GlobalAvgPool2d(), ["x"]), ("out", Conv2d(_w(r, 4, 3, 1, 1), None), ["p"])]),
    "conv-avgpool": ((3, 9, 9), lambda r: [("c", Conv2d(_w(r, 4, 3, 3, 3), _w(r, 4), padding=(1,) * 4), ["x"]),
                                          ("out", AvgPool2d(), ["c"])]),
    "conv(stride)-avgpool(3, 1)": ((3, 9, 9), lambda r: [
        ("c", Conv2d(_w(r, 4, 3, 3, 3), None, stride=(2, 2), padding=(1,) * 4), ["x"]),
        ("out", AvgPool2d((3, 3), (1, 1)), ["c"])]),
    "conv(dilated)-gap": ((1, 9, 9), lambda r: [("c", Conv2d(_w(r, 4, 1, 3, 3), None, padding=(2,) * 4,
                                                              dilation=(2, 2)), ["x"]), ("out", GlobalAvgPool2d(), ["c"])]),
    "conv(groups)-avgpool": ((3, 8, 8), lambda r: [("c", Conv2d(_w(r, 6, 1, 3, 3), None, padding=(1,) * 4, groups=3),
                                                    ["x"]), ("out", AvgPool2d(), ["c"])]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fused_graph_computes_the_same(rng, case):
    shape, spec = CASES[case]
    g = Graph.build([("x", Input(shape), [])] + spec(rng), ["out"])
    fused, log = fuse_avgpools(g)
    assert not any(n.type in ("AvgPool2d", "GlobalAvgPool2d") for n in fused), log
    assert len(log) == 1 and "not fused" not in log[0]
    x = rng.random((4,) + shape).astype(np.float32)
    assert_network_close(g, x, run(fused, x)["out"], run(g, x)["out"], case, k=path_terms(g) + path_terms(fused))


def test_gap_linear_weights_are_the_closed_form(rng):
    w = _w(rng, 4, 3)
    g = Graph.build([("x", Input((3, 4, 4)), []), ("p", GlobalAvgPool2d(), ["x"]), ("f", Flatten(), ["p"]),
                     ("out", Linear(w, None), ["f"])], ["out"])
    fused, _ = fuse_avgpools(g)
    want = np.repeat(w / 16.0, 16, axis=1)  # W'[o, c*16 + h*4 + w] = W[o, c] / (H W)
    np.testing.assert_array_equal(fused.node("out").op.weight, want)
    assert fused.node("out").inputs == ("f",) and fused.node("f").inputs == ("x",)


def test_what_does_not_compose_exactly_is_left_alone(rng):
    # 9x9 -> 2x2 pool covers rows 0..7: the conv's zero padding would fall on the real row 8
    g = Graph.build([("x", Input((3, 9, 9)), []), ("p", AvgPool2d(), ["x"]),
                     ("out", Conv2d(_w(rng, 4, 3, 3, 3), None, padding=(1,) * 4), ["p"])], ["out"])
    fused, log = fuse_avgpools(g)
    assert [n.type for n in fused] == ["Input", "AvgPool2d", "Conv2d"] and "p: not fused" in log[0]
    # nodes in ``skip`` (the host prefix) are never touched
    g = Graph.build([("x", Input((3, 8, 8)), []), ("c", Conv2d(_w(rng, 4, 3, 1, 1), None), ["x"]),
                     ("p", AvgPool2d(), ["c"]), ("f", Flatten(), ["p"]), ("out", Linear(_w(rng, 2, 64), None), ["f"])],
                    ["out"])
    assert "p" in fuse_avgpools(g, skip={"x", "c", "p", "f", "out"})[0]
