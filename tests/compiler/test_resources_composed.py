"""The resource estimate counts what the deployment plan deploys where it composes currents (an Add without
a neuron, a Concat + kept batch norm): the composed synapses, one per source, each storing its nonzero
(output, input) channel kernels (analysis.composed). Oracle: a brute-force Jacobian of the compiled graph's
own chain of ops (one-hot values of a source, every other source 0, minus the value at 0): with generic
weights and dense kernels its nonzero entries are exactly the connections the composed synapses store."""
import numpy as np
import pytest

from snnc.compiler.analysis.composed import composed_layers
from snnc.compiler.analysis.resources import count_layers, map_graph
from snnc.compiler.analysis.segments import segment_ops, segment_starts
from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Add, ChannelAffine, Concat, Conv2d, Flatten, Linear
from snnc.compiler.lower import NumberFormat, make_plan

from ..runtime.lava_nets import if_layer, stem


def _w(rng, *shape):
    return rng.normal(0, 0.5, shape).astype(np.float32)   # generic: no sum of products cancels exactly


_if = if_layer


def _stem(rng, c=4):
    return stem(_w, rng, c)


def bottleneck(rng):
    """MobileNet: n0 -> 1x1 -> gain -> Add(n0, .) with no neuron -> 1x1 -> IF; a second Add chained on it."""
    return Graph.build(_stem(rng) + [
        ("p1", Conv2d(_w(rng, 4, 4, 1, 1), _w(rng, 4)), ["n0"]),
        ("g", ChannelAffine(_w(rng, 4) + 1, np.zeros(4, np.float32)), ["p1"]),
        ("a1", Add(), ["n0", "g"]),
        ("e2", Conv2d(_w(rng, 6, 4, 1, 1), _w(rng, 6)), ["a1"]), ("n2", _if(6), ["e2"]),
        ("p3", Conv2d(_w(rng, 4, 6, 3, 3), _w(rng, 4), padding=(1,) * 4), ["n2"]),
        ("a2", Add(), ["a1", "p3"]),
        ("e4", Conv2d(_w(rng, 5, 4, 1, 1), _w(rng, 5)), ["a2"]), ("n4", _if(5), ["e4"]),
        ("f", Flatten(), ["n4"]), ("out", Linear(_w(rng, 3, 180), None), ["f"])], ["out"])


def concat_of_spikes(rng):
    """DenseNet: Concat(spikes, padded conv of them) -> kept batch norm -> IF: two placed slices of one source."""
    return Graph.build(_stem(rng) + [
        ("k1", Conv2d(_w(rng, 3, 4, 3, 3), None, padding=(1,) * 4), ["n0"]),
        ("cat1", Concat(), ["n0", "k1"]),
        ("bn1", ChannelAffine(_w(rng, 7) + 1, _w(rng, 7)), ["cat1"]), ("n1", _if(7), ["bn1"]),
        ("f", Flatten(), ["n1"]), ("out", Linear(_w(rng, 3, 252), _w(rng, 3)), ["f"])], ["out"])


def host_concat(rng):
    """DenseNet's first block: Concat(host value c0, conv of spikes) -> kept batch norm -> IF. The host
    computes c0 once; n1's synapses are a diagonal slice on c0 and the conv slice on n0 (not c0 again)."""
    return Graph.build(_stem(rng) + [
        ("k1", Conv2d(_w(rng, 3, 4, 3, 3), None, padding=(1,) * 4), ["n0"]),
        ("cat1", Concat(), ["c0", "k1"]),
        ("bn1", ChannelAffine(_w(rng, 7) + 1, _w(rng, 7)), ["cat1"]), ("n1", _if(7), ["bn1"]),
        ("f", Flatten(), ["n1"]), ("out", Linear(_w(rng, 3, 252), _w(rng, 3)), ["f"])], ["out"])


def jacobian_nonzeros(graph: Graph, layer: str, host=frozenset()) -> int:
    """Nonzero entries of d(current into ``layer``)/d(source), summed over its sources (spikes, inputs and
    the ``host`` values the layer reads), through the compiled graph's ops."""
    starts = segment_starts(graph, layer)
    ops = [n for n in segment_ops(graph, starts) if n not in host]
    sources = sorted({s for n in ops for s in graph.node(n).inputs
                      if graph.node(s).type in ("IFNeuron", "Input") or s in host})
    total = 0
    for s in sources:
        n = int(np.prod(graph.node(s).shape))
        vals = {t: np.zeros((n + 1,) + tuple(graph.node(t).shape), np.float32) for t in sources}
        vals[s][1:] = np.eye(n, dtype=np.float32).reshape((n,) + tuple(graph.node(s).shape))
        for name in ops:
            node = graph.node(name)
            vals[name] = apply(node.op, *[vals[i] for i in node.inputs])
        x = vals[starts[0]]
        total += int(np.count_nonzero(x[1:] - x[:1]))
    return total


@pytest.mark.parametrize("build, layers, host", [(bottleneck, {"n2", "n4"}, ()), (concat_of_spikes, {"n1"}, ()),
                                                 (host_concat, {"n1"}, ("c0",))])
def test_composed_layers_count_the_deployed_synapses(rng, build, layers, host):
    """``host``: the host value (the direct-coded stem conv, n0's synapses) the layer reads, not recomputes."""
    g = build(rng)
    plan = make_plan(g, NumberFormat(True, 8))
    assert composed_layers(plan) == layers
    lays = {l.name: l for l in count_layers(g, weight_bits=8)}
    floating = {l.name: l for l in count_layers(g)}
    for name in layers:
        lay = lays[name]
        assert lay.synapses == jacobian_nonzeros(g, name, frozenset(host)), name
        assert lay.memory_bits == 8 * lay.synapses
        assert set(lay.ops) == {n.name for n in plan.graph if plan.sinks.get(n.name) == name
                                and n.op.weight_field is not None}
        assert lay.synapses == floating[name].synapses   # the float plan composes the same synapses
    mapping = map_graph(g, "loihi2")
    assert mapping.fits and all(mapping.layer(n).cores for n in layers)


def test_bottleneck_figures_by_hand(rng):
    """n2: one 6x4 1x1 synapse on n0 (not p1 + gain + identity + e2); n4: 5x4 on n0 and 5x4x3x3 on n2."""
    lays = {l.name: l for l in count_layers(bottleneck(rng), weight_bits=8)}
    assert lays["n2"].synapses == 6 * 4 * 36 and lays["n2"].fan_in == 4
    assert lays["n4"].synapses == 5 * 4 * 36 + 5 * 6 * 16 * 16 and lays["n4"].fan_in == 4 + 6 * 9
    assert lays["n0"].synapses == 4 * 1 * 16 * 16     # untouched layers are counted as before


def test_bottleneck_processes_by_hand(rng):
    """The Lava processes per layer, counted by hand on the plan (custom processes): n0 = host CurrentSource
    + IntegrateFire + SpikeCounter; n2 = one composed 1x1 synapse on n0 + neuron + counter; n4 = e4/n0 and
    e4/n2 + a Delay for the shorter e4/n0 (depth 1 against 2) + neuron + counter; out = Dense + Readout.
    The compiled graph would build p1, g, e2 (+ a delay of n0 into a1) for n2, and p3, e4 and two delays
    (a1's two ports) for n4: 17, so composition saves 4."""
    g = bottleneck(rng)
    lays = {l.name: l for l in count_layers(g, weight_bits=8)}
    assert {k: l.processes for k, l in lays.items()} == {"n0": 3, "n2": 3, "n4": 5, "out": 2}
    m = map_graph(g, "loihi2")
    assert (m.processes, m.extra_processes) == (13, -4)
    assert m.to_json()["processes"] == 13 and m.to_json()["extra_processes"] == -4
    assert m.to_json()["layers"][0]["processes"] == 3
    # deployed fan-out: an n0 spike drives e2/n0's 6 and e4/n0's 5 synapses (the compiled chain: p1's 4 more)
    assert lays["n0"].deployed_fan_out == 11 and lays["n0"].fan_out == 15
    from snnc.compiler.analysis.resources import summary_table
    text = summary_table(g, "loihi2")
    assert "Lava processes: 13 (-4 against the compiled graph" in text and " procs " in text


def test_a_host_value_is_read_as_the_host_sends_it(rng):
    """n1 reads the host value c0 (4 x 6 x 6, the stem conv the host computes) through its diagonal slice:
    its input axons are c0's 144 elements and n0's 144 (one core holds the layer), not the 1 x 6 x 6 image
    behind c0, and c0 is a source of n1 (its 4 x 36 slice synapses)."""
    g = host_concat(rng)
    lay = map_graph(g, "loihi").layer("n1")
    assert lay.tile == (7, 6, 6) and lay.axons_per_core == 4 * 36 + 4 * 36
    assert lay.sources["c0"] == 4 * 36
