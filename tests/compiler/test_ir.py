import numpy as np
import pytest

from snnc.compiler.errors import GraphError, ModelLoadError
from snnc.compiler.ir import (
    Add, Conv2d, Flatten, Graph, IFNeuron, Input, Linear, MaxPool2d, ReLU, from_bytes, to_bytes,
)


def small_graph(rng):
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    return Graph.build([
        ("x", Input((1, 8, 8)), []),
        ("c", Conv2d(w, np.zeros(4, np.float32), padding=(1, 1, 1, 1)), ["x"]),
        ("r", ReLU(), ["c"]),
        ("n", IFNeuron(np.ones(4, np.float32), np.full(4, 0.5, np.float32)), ["c"]),
        ("a", Add(), ["r", "n"]),
        ("p", MaxPool2d(), ["a"]),
        ("f", Flatten(), ["p"]),
        ("l", Linear(rng.standard_normal((10, 64)).astype(np.float32), None), ["f"]),
    ], ["l"], {"note": "test"})


def test_shapes_and_counts(rng):
    g = small_graph(rng)
    assert g.node("p").shape == (4, 4, 4)
    assert g.node("l").shape == (10,)
    assert g.macs() == 4 * 64 * 9 + 4 * 64 + 640
    assert "MaxPool2d(a)" in g.dump()


def test_roundtrip_exact_and_deterministic(rng):
    g = small_graph(rng)
    data = to_bytes(g)
    g2 = from_bytes(data)
    assert to_bytes(g2) == data
    np.testing.assert_array_equal(g2.node("c").op.weight, g.node("c").op.weight)
    assert g2.node("l").op.bias is None and g2.meta == {"note": "test"}
    assert g2.node("c").op.padding == (1, 1, 1, 1)


def test_mismatch_names_both_ends(rng):
    with pytest.raises(GraphError, match=r"x \(1, 8, 8\) -> node 'l'"):
        Graph.build([("x", Input((1, 8, 8)), []),
                     ("l", Linear(np.ones((2, 3), np.float32), None), ["x"])], ["l"])
    with pytest.raises(GraphError, match="not defined before"):
        Graph.build([("x", Input((3,)), []), ("r", ReLU(), ["y"])], ["r"])


def test_corrupt_file(tmp_path):
    p = tmp_path / "bad.snnc"
    p.write_bytes(b"not a zip")
    from snnc.compiler.ir import load
    with pytest.raises(ModelLoadError, match="not an snnc graph"):
        load(p)
