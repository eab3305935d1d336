"""Op traits (compiler/ir/ops): every op class walked through every consumer, which accepts it or
refuses it by name; adding an op means one class and a decision here."""
from dataclasses import dataclass, fields

import numpy as np
import pytest

from snnc.compiler.analysis import sop
from snnc.compiler.analysis.resources import count_layers
from snnc.compiler.errors import SimulationError
from snnc.compiler.hardware.partition import source_boxes
from snnc.compiler.hardware.synapses import has_synapses
from snnc.compiler.ir import Graph, ops
from snnc.compiler.ir.ops import OP_TYPES
from snnc.compiler.ir.ops.geometry import respread
from snnc.compiler.passes import scales
from snnc.compiler.passes.check_snn import SNN_OPS
from snnc.compiler.passes.fold_thresholds import fold_thresholds

# spiking ops the Lava lowering refuses (BackendError naming the node and listing what it supports)
LAVA_REFUSES = {"Reshape", "ChannelPermute", "ChannelSlice", "Concat", "Pad", "Resize"}


@pytest.mark.parametrize("name", sorted(OP_TYPES))
def test_traits_are_consistent(name):
    cls = OP_TYPES[name]
    if cls.weight_field is not None:
        assert cls.weight_field in {f.name for f in fields(cls)}, name
        assert cls.spiking and cls.latency == 1, name    # a synapse is one Conv / Dense on Lava
        assert cls.has("rescaled") and cls.has("fanout") and cls.has("connections"), name
    else:   # only a synapse absorbs a scale into its weights (threshold folding)
        assert not cls.has("rescaled"), name
    assert cls.has("scale_forward") == cls.has("scale_backward"), name
    assert not (cls.has("fanout") and cls.has("fanout_back")), name   # a synapse or a route, not both
    if cls.gain:
        assert cls.has("fanout"), name
    if cls.current_path or cls.virtual:
        assert cls.weight_field is None, name
    assert cls.latency in (0, 1)


@pytest.mark.parametrize("name", sorted(OP_TYPES))
def test_every_consumer_accepts_or_refuses_by_name(name):
    from snnc.runtime.lava import lower_ops, sigma_delta  # noqa: F401 - fill the table (lava is imported lazily)
    from snnc.runtime.lava.lower import LOWER
    cls = OP_TYPES[name]
    assert (name in SNN_OPS) == cls.spiking
    if cls.spiking and name != "Input":   # SOP counting has a fan-out rule for every spiking op
        assert sop.is_synapse(cls) or sop.is_structural(cls), name
    if cls.spiking and name not in ("Input",):
        assert (cls in LOWER) != (name in LAVA_REFUSES), name
    if cls.netx is not None:   # netx export: test_netx_exports_accept_or_refuse_each_op_by_name
        assert cls.spiking, name
    if not cls.spiking:   # a non-spiking op reaches Lava only as a view (Identity), never as a process
        assert cls not in LOWER or cls.virtual, name


def _neuron(c):
    return ops.IFNeuron(np.full(c, 2.0, np.float32), np.full(c, 1.0, np.float32))


def _w(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


# one instance of every op class, read by the spiking layer "s" (4, 6, 6) or its flattened "f" (144,)
EXAMPLES = {
    "Conv2d": (ops.Conv2d(_w(3, 4, 3, 3), None, padding=(1, 1, 1, 1)), ["s"]),
    "Linear": (ops.Linear(_w(5, 144), None), ["f"]),
    "BatchNorm": (ops.BatchNorm(_w(4), _w(4), _w(4), np.ones(4, np.float32)), ["s"]),
    "ChannelAffine": (ops.ChannelAffine(np.array([0.5, 0, 2, 1], np.float32), np.zeros(4, np.float32)), ["s"]),
    "ReLU": (ops.ReLU(), ["s"]), "Clip": (ops.Clip(0.0, 6.0), ["s"]), "Identity": (ops.Identity(), ["s"]),
    "IFNeuron": (_neuron(4), ["s"]),
    "SigmaDeltaNeuron": (ops.SigmaDeltaNeuron(np.ones(4, np.float32), np.zeros(4, np.float32),
                                              step=np.full(4, 1 / 15, np.float32), bits=4), ["s"]),
    "MaxPool2d": (ops.MaxPool2d(), ["s"]), "AvgPool2d": (ops.AvgPool2d(), ["s"]),
    "GlobalAvgPool2d": (ops.GlobalAvgPool2d(), ["s"]), "Resize": (ops.Resize((12, 12)), ["s"]),
    "Flatten": (ops.Flatten(), ["s"]), "Reshape": (ops.Reshape((4, 36)), ["s"]),
    "ChannelPermute": (ops.ChannelPermute(np.array([2, 0, 3, 1])), ["s"]),
    "ChannelSlice": (ops.ChannelSlice(1, 3), ["s"]), "Add": (ops.Add(), ["s", "s"]),
    "Concat": (ops.Concat(), ["s", "s"]), "Pad": (ops.Pad((1, 0, 0, 2)), ["s"]),
}


def _graph(op, inputs) -> Graph:
    return Graph.build([("x", ops.Input((3, 6, 6)), []),
                        ("c", ops.Conv2d(_w(4, 3, 3, 3), None, padding=(1, 1, 1, 1)), ["x"]),
                        ("s", _neuron(4), ["c"]), ("f", ops.Flatten(), ["s"]), ("y", op, inputs)], ["y", "f"])


def test_every_op_class_has_an_example():
    assert set(EXAMPLES) == set(OP_TYPES) - {"Input"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_compiler_consumer_reads_the_traits(name):
    """SOP counting, threshold folding, the resource count and the partitioner's boxes all take every op."""
    g = _graph(*EXAMPLES[name])
    node, shapes = g.node("y"), [g.node(i).shape for i in g.node("y").inputs]
    fan = sop.fanout_maps(g)["s"]
    assert fan.shape == (4, 6, 6) and np.all(fan >= 0)
    folded = fold_thresholds(g).graph                 # commuting or not, every op folds
    assert np.all(folded.node("s").op.threshold == 1)
    assert scales.commutes(node) == (node.op.scale_forward([np.ones(s[0]) for s in shapes], shapes,
                                                           node.shape) is not None or name == "Pad")
    lays = {lay.name: lay for lay in count_layers(g)}
    assert lays["s"].out_synapses == int(fan.sum())
    assert has_synapses(node.op) == (node.op.connections(shapes[0], node.shape) is not None)
    box = tuple((0, d) for d in node.shape)
    assert set(source_boxes(g, ["y"], ["y"], box)) <= {"s", "y"}   # y itself when it is a neuron


NETX_FORMS = {"CUBA": ("netx_layers", ops.IFNeuron), "SDNN": ("sd_chain", ops.SigmaDeltaNeuron)}


@pytest.mark.parametrize("neuron", sorted(NETX_FORMS))
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_netx_exports_accept_or_refuse_each_op_by_name(name, neuron):
    """Both netx exports (CUBA blocks of IF layers, SDNN blocks of sigma-delta layers) read the op trait
    ``netx``: in the chain input -> conv -> neuron -> op (the output) an op without a netx form of theirs is
    refused by name before anything else; one with a form is a layer of the chain, or breaks its pattern
    (a neuron after a neuron) with an error naming it."""
    from snnc.compiler.errors import BackendError
    from snnc.runtime.lava import netx, netx_sd
    fn, neuron_op = NETX_FORMS[neuron]
    consumer = getattr(netx if fn == "netx_layers" else netx_sd, fn)
    op, inputs = EXAMPLES[name]
    s = neuron_op(np.ones(4, np.float32), np.full(4, 0.5, np.float32)) if neuron == "CUBA" else \
        EXAMPLES["SigmaDeltaNeuron"][0]
    spec = [("x", ops.Input((3, 6, 6)), []), ("c", ops.Conv2d(_w(4, 3, 3, 3), None, padding=(1, 1, 1, 1)), ["x"]),
            ("s", s, ["c"])] + ([("f", ops.Flatten(), ["s"])] if inputs == ["f"] else [])
    g = Graph.build(spec + [("y", op, inputs)], ["y"])
    if op.netx not in ("input", "flatten", "conv", "dense", neuron):
        with pytest.raises(BackendError, match=rf"netx cannot express layer\(s\) {name} 'y' "):
            consumer(g)
        return
    try:
        layers = consumer(g)
    except BackendError as e:
        assert f"{name} 'y'" in str(e) and "cannot express" not in str(e) and op.netx == neuron
    else:
        assert [(kind, syn.name) for kind, syn, _ in layers][-1] == (op.netx, "y")


@dataclass(frozen=True, eq=False)
class Unknown(ops.Op):
    """An op with no traits: each consumer says so by name, or takes the safe default."""


def test_an_op_without_traits_is_refused_by_name_or_kept_unscaled():
    g = Graph.build([("x", ops.Input((3, 6, 6)), []),
                     ("c", ops.Conv2d(_w(4, 3, 3, 3), None), ["x"]), ("s", _neuron(4), ["c"]),
                     ("u", Unknown(), ["s"])], ["u"])
    with pytest.raises(SimulationError, match=r"'u' \(Unknown\): no fan-out rule"):
        sop.fanout_maps(g)
    folded = fold_thresholds(g).graph   # no scale passes it: its input is unscaled by an explicit gain
    assert isinstance(folded.node(folded.node("u").inputs[0]).op, ops.ChannelAffine)
    assert not has_synapses(Unknown()) and Unknown().box_back(((0, 4),), [(4,)], (4,)) is None


from hypothesis import given, settings, strategies as st   # noqa: E402

COMMUTING = sorted(n for n, (op, _) in EXAMPLES.items() if op.has("scale_forward"))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(COMMUTING), seed=st.integers(0, 2 ** 16))
def test_scale_backward_then_forward_gives_the_wished_scale(name, seed):
    """For an op that commutes with per-channel scaling, inputs carrying the scales ``scale_backward`` wishes
    give the output scale ``d`` back through ``scale_forward`` (where a reshape can represent it)."""
    g = _graph(*EXAMPLES[name])
    node = g.node("y")
    shapes = [g.node(i).shape for i in node.inputs]
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.25, 4.0, node.shape[0])
    if isinstance(node.op, (ops.Flatten, ops.Reshape)):   # one value per input channel's block
        d = respread(rng.uniform(0.25, 4.0, shapes[0][0]), shapes[0], node.shape)
        if d is None:
            return
    wish = node.op.scale_backward(d, shapes, node.shape)
    assert len(wish) == len(shapes) and all(w is not None and w.shape == (s[0],) for w, s in zip(wish, shapes))
    np.testing.assert_array_equal(node.op.scale_forward(wish, shapes, node.shape), d)
