"""The deployment plan (compiler/lower): the compile report's weight error is the error that runs, and
per-channel exponents keep the units one exponent per layer zeroes (the issue's 3136 -> 256 classifier)."""
import numpy as np
import pytest

from snnc.compiler.analysis.resources import count_layers
from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import ModelLoadError
from snnc.compiler.ir import Graph
from snnc.compiler.ir.ops import Flatten, IFNeuron, Input, Linear
from snnc.compiler.lower import NumberFormat, make_plan
from snnc.compiler.lower.record import deployment_record, plan_for
from snnc.runtime.lava.reference import Reference

from .lava_nets import shifted_residual_net


def _wide(rng, spread: float, hidden: int = 64) -> Graph:
    """x -> dense (the host stem) -> IF -> dense whose output rows span ``spread`` (per-channel thresholds
    folded in) -> IF -> dense readout."""
    w2 = rng.normal(0, 0.05, (hidden, 128)) * np.geomspace(1.0, spread, hidden)[:, None]
    spec = [("x", Input((1, 8, 8)), []), ("f", Flatten(), ["x"]),
            ("l1", Linear(rng.normal(0, 0.2, (128, 64)).astype(np.float32), None), ["f"]),
            ("n1", IFNeuron(np.ones(128, np.float32), np.full(128, 0.5, np.float32)), ["l1"]),
            ("l2", Linear(w2.astype(np.float32), rng.normal(0, 0.05, hidden).astype(np.float32)), ["n1"]),
            ("n2", IFNeuron(np.ones(hidden, np.float32), np.full(hidden, 0.5, np.float32)), ["l2"]),
            ("out", Linear(rng.normal(0, 0.3, (10, hidden)).astype(np.float32), None), ["n2"])]
    return Graph.build(spec, ["out"])


def test_report_error_is_the_error_that_runs_on_weights_beyond_8_bits(rng):
    """max|W| = 500 > 127 at the exponent floor 0: the weights clip, in the report and in the run alike."""
    g = _wide(rng, 1.0)
    spec = [(n.name, n.op, n.inputs) for n in g]
    spec[4] = ("l2", Linear((g.node("l2").op.weight / np.abs(g.node("l2").op.weight).max() * 500).astype(
        np.float32), g.node("l2").op.bias), ("n1",))
    g = Graph.build(spec, ["out"])
    w = np.asarray(g.node("l2").op.weight, np.float64)
    q = np.clip(np.round(w), -128, 127)                      # E = 0 (the floor): clip to 8 bits
    ran = Reference(g, fixed=True, weight_bits=8).params["l2"]
    np.testing.assert_array_equal(ran, q)
    want = np.linalg.norm(w - q) / np.linalg.norm(w)
    report = {l.name: l for l in count_layers(g, 8)}["n2"]
    assert report.weight_error == pytest.approx(want, rel=1e-12) and want > 0.1
    r = np.round(w)
    assert make_plan(g, NumberFormat(True, 8)).layers["n2"].weights_clipped == int(np.sum((r < -128) | (r > 127)))


def test_per_channel_exponents_keep_every_unit(rng):
    """Rows spanning 2^12: one exponent would zero the small rows; one per channel keeps each within
    half an 8-bit step of its own scale, and the threshold carries the same 2^E_c."""
    g = _wide(rng, 2.0 ** -12)
    plan = make_plan(g, NumberFormat(True, 8))
    lay, syn = plan.layers["n2"], plan.synapses["l2"]
    assert lay.scheme == "channel" and not lay.units_zeroed
    w = np.asarray(g.node("l2").op.weight, np.float64)
    e = np.floor(np.log2(127 / np.abs(w).max(axis=1))).astype(int)     # E_c = floor(log2(qmax / m_c))
    np.testing.assert_array_equal(lay.exponents, np.minimum(e, 16))
    one = np.round(w * 2.0 ** e.min())
    assert np.sum(~np.any(one != 0, axis=1)) > 10      # what a single exponent would do: whole units lost
    err = np.abs(syn.weights / 2.0 ** lay.exponents[:, None] - w)
    assert np.all(err <= 0.5 * 2.0 ** -lay.exponents[:, None])
    vth, _ = Reference(g, fixed=True).params["n2"]
    np.testing.assert_array_equal(vth, np.round(2.0 ** lay.exponents))
    assert {l.name: l for l in count_layers(g, 8)}["n2"].exponents == "channel"


def test_sigma_delta_graph_is_lowered_with_one_exponent_a_layer(rng):
    """Lava's SigmaDelta holds one vth and one state exponent a layer (op trait ``layer_exponents``): the
    same rows that get per-channel exponents in an IF graph get one exponent a layer once the graph is
    sigma-delta, in the compile's record and in the plan the sigma-delta run reads alike."""
    from snnc.compiler.passes.sigma_delta import to_sigma_delta
    from snnc.runtime.lava.sd_numerics import sd_plan
    g = _wide(rng, 2.0 ** -12)
    assert make_plan(g, NumberFormat(True, 8)).layers["n2"].scheme == "channel"
    sd = to_sigma_delta(g, "sigma-delta", 8).graph
    plan = make_plan(sd, NumberFormat(True, 8))
    assert all(lay.scheme == "layer" for lay in plan.layers.values())
    assert plan.summary() == sd_plan(sd, True, 8).summary() == deployment_record(sd, 8)


def test_sigma_delta_state_exponent_is_capped_at_its_3_bit_field_with_the_cost_recorded(rng):
    """SigmaDelta's state_exp is the layer's exponent and a 3-bit field (op trait ``exponent_max`` = 7): weights
    of max|W| = 0.3 ask for floor(log2(127 / 0.3)) = 8; the IF plan keeps 8, the sigma-delta plan caps at 7
    and records what that costs: the error at 8, below the error it runs with (one weight bit less)."""
    from snnc.compiler.passes.sigma_delta import to_sigma_delta
    from snnc.compiler.lower.quantize import quantise, relative_error
    from snnc.runtime.lava.sd_numerics import SDFixed, sd_plan
    g = _wide(rng, 1.0)
    spec = [(n.name, n.op, n.inputs) for n in g]
    w = g.node("l2").op.weight
    spec[4] = ("l2", Linear((w / np.abs(w).max() * 0.3).astype(np.float32), g.node("l2").op.bias), ("n1",))
    g = Graph.build(spec, ["out"])
    assert make_plan(g, NumberFormat(True, 8)).layers["n2"].exponents.min() == 8   # its largest row asks for 8
    sd = to_sigma_delta(g, "sigma-delta", 8).graph
    plan = sd_plan(sd, True, 8)
    lay = plan.layers["n2"]
    assert set(lay.exponents) == {7} and plan.synapses["l2"].exponent == 7
    w = np.asarray(sd.node("l2").op.weight, np.float64)
    at8 = relative_error(w, quantise(w, 8, 8)[0], 8)
    assert lay.capped == {"exponent": 8, "capped_to": 7, "weight_error_uncapped": round(at8, 6)}
    assert lay.weight_error == relative_error(w, quantise(w, 7, 8)[0], 7) > at8
    assert all(lay.capped is None for name, lay in plan.layers.items() if name != "n2")
    fx = SDFixed(plan)
    assert fx.sd_params(sd.node("n2"), 0)["state_exp"] == 7
    assert any("'n2': state_exp capped at 7" in w for w in fx.report()["warnings"])


def test_fixed_reference_follows_float_with_per_channel_exponents(rng):
    """The fixed-point reference on the wide layer predicts as the float reference does (the units live)."""
    g = _wide(rng, 2.0 ** -10)
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    fl, _, _ = Reference(g).run(x, 32)
    fx, spikes, _ = Reference(g, fixed=True).run(x, 32)
    assert spikes["n2"].sum() > 0
    agree = np.mean(fl[:, 4:].mean(1).argmax(1) == fx[:, 4:].mean(1).argmax(1))
    assert agree >= 0.9


def test_stock_keeps_one_exponent_per_layer(rng):
    plan = make_plan(_wide(rng, 2.0 ** -12), NumberFormat(True, 8, stock=True))
    assert {l.scheme for l in plan.layers.values()} == {"layer"}
    assert plan.layers["n2"].units_zeroed       # stock LIF holds one vth per layer: said, not hidden


def test_artifact_records_the_plan_and_a_stale_record_is_refused(rng):
    g = _wide(rng, 2.0 ** -6)
    rec = deployment_record(g, 8)
    art = Artifact(g, g, {"deployment": rec})
    assert plan_for(art, NumberFormat(True, 8)) is make_plan(g, NumberFormat(True, 8))
    stale = dict(rec, layers={**rec["layers"], "n2": dict(rec["layers"]["n2"], exponents=[[3, 64]])})
    with pytest.raises(ModelLoadError, match="'n2'.*recompile"):
        plan_for(Artifact(g, g, {"deployment": stale}), NumberFormat(True, 8))
    with pytest.raises(ModelLoadError, match="version"):
        plan_for(Artifact(g, g, {"deployment": dict(rec, version=0)}), NumberFormat(True, 8))


@pytest.mark.parametrize("conv_scale, gain_scale", [(2.0 ** -5, 1.0), (1.0, 2.0 ** -5)])
def test_residual_branches_get_their_own_weight_exponents_and_the_report_is_the_run(rng, conv_scale, gain_scale):
    """Residual Adds whose conv / dense branch is 2^5 smaller than the skip gain (the suite's ResNet), or
    the reverse. One unit for both branches (plan version 1) leaves the small one few significant bits;
    a weight exponent per synapse gives each its own (its largest mantissa uses the top bit), and the
    report's weight error is the error of the integers the fixed-point run uses: the reference's synapse
    integers in the layer's unit 2^-E_c, E_c read back from vth = theta 2^E_c with theta = 1."""
    g = shifted_residual_net(rng, conv_scale, gain_scale)
    plan, one = make_plan(g, NumberFormat(True, 8)), make_plan(g, NumberFormat(True, 8, per_synapse=False))
    ref, report = Reference(g, fixed=True), {l.name: l for l in count_layers(g, 8)}
    for layer, syns in (("n3", ("c3", "skip")), ("n5", ("l2", "skip2"))):
        vth, _ = ref.params[layer]
        e = np.log2(vth).astype(np.int64)
        np.testing.assert_array_equal(2 ** e, vth)
        errs = []
        for s in syns:
            op = g.node(s).op
            w = np.asarray(getattr(op, "scale", None) if s.startswith("skip") else op.weight, np.float64)
            ran = ref.params[s] / 2.0 ** e.reshape((-1,) + (1,) * (w.ndim - 1))
            errs.append(np.linalg.norm(w - ran) / np.linalg.norm(w))
            assert np.abs(plan.synapses[s].weights).max() >= 64, s      # b-bit mantissas at its own exponent
        assert min(np.abs(one.synapses[s].weights).max() for s in syns) < 32   # one unit: 2+ bits lost
        assert report[layer].weight_error == pytest.approx(max(errs), rel=1e-12)
        assert max(errs) < 0.02 < one.layers[layer].weight_error
        assert plan.layers[layer].weights_clipped == 0 and plan.layers[layer].shifts


def test_a_version_1_record_loads_where_no_synapse_has_a_weight_exponent(rng):
    """Plan version 1 had no weight exponents: its record still loads where this lowering gives none, and
    is refused with a clear message where it does."""
    g = _wide(rng, 2.0 ** -6)
    rec = dict(deployment_record(g, 8), version=1)
    assert plan_for(Artifact(g, g, {"deployment": rec}), NumberFormat(True, 8)) is make_plan(g, NumberFormat(True, 8))
    r = shifted_residual_net(rng)
    old = dict(deployment_record(r, 8), version=1)
    with pytest.raises(ModelLoadError, match="version 1.*weight exponents.*recompile"):
        plan_for(Artifact(r, r, {"deployment": old}), NumberFormat(True, 8))
