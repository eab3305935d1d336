"""Sigma-delta networks on the torch backend vs the NumPy reference (``numpy_sim.sigma_delta``).

* dyadic random graphs of every op (steps 2^-k, every value exact in float32 and float64):
  identical readouts, graded spikes, graded ops, counts and payload histograms in both dtypes;
* the layer's scan on time-varying sigma against the float64 closed form (negative payloads,
  state carried across chunks);
* the example model: float64 on a dyadic grid identical to NumPy; the real float32 weights within
  the float32 bound of tests/oracles.py (a code may differ only where the NumPy pre-activation lies
  within that bound of a rounding boundary, and the logits of every sample whose codes all agree
  are within the bound of the readout's sums).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snnc.compiler.ir import ChannelAffine, SigmaDeltaNeuron

from ..oracles import abs_op, f32_sum_tol, path_terms
from .test_numpy_sim import dyadic_input, feature_graph
from .torch_nets import every_op_graph, every_op_input

RECORD = ("counts", "output")


@pytest.fixture(autouse=True)
def _torch(torch_one_thread):   # skip without torch (fail in CI), one thread (tests/conftest.py)
    return torch_one_thread


def to_sigma_delta(graph, bits, step=None):
    """Every IFNeuron as a SigmaDeltaNeuron of ``bits`` bits; ``step`` (default theta / (2^B - 1))."""
    spec = []
    for n in graph.nodes:
        op = n.op
        if n.type == "IFNeuron":
            c = op.threshold.shape[0]
            st = op.threshold / (2 ** bits - 1) if step is None else np.full(c, step)
            op = SigmaDeltaNeuron(threshold=op.threshold, v_init=np.zeros(c, np.float32), reset="subtract",
                                  step=np.asarray(st, np.float32), bits=bits)
        spec.append((n.name, op, n.inputs))
    return graph.rebuild(spec)


def same_sd_run(a, b):
    """Readouts, records, graded spikes / ops per layer and step and payload histograms are identical."""
    assert a.T == b.T and a.delays == b.delays == {t: t - 1 for t in a.T}
    for t in a.T:
        np.testing.assert_array_equal(b.logits[t], a.logits[t])
    np.testing.assert_array_equal(b.records["output"], a.records["output"])
    for name, c in a.records["counts"].items():
        assert c.any(), f"layer {name} never sends: the test graph is degenerate"
        np.testing.assert_array_equal(b.records["counts"][name], c, err_msg=name)
    assert b.records["payload_histogram"] == a.records["payload_histogram"]
    assert [l.name for l in b.activity.layers] == [l.name for l in a.activity.layers]
    for la, lb in zip(a.activity.layers, b.activity.layers):
        assert lb.spikes_per_step == la.spikes_per_step and lb.sop_per_step == la.sop_per_step, la.name
    for k in ("first_layer_macs", "first_layer_convention", "payload_bits", "output_neurons", "samples"):
        assert getattr(b.activity, k) == getattr(a.activity, k), k
    assert b.activity.source == "torch-sigma-delta" and b.accuracy == a.accuracy


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bits,step,seed", [(4, 1 / 16, 0), (8, 1 / 256, 1), (2, 1 / 4, 2)])
def test_every_op_identical_to_numpy(dtype, bits, step, seed):
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    rng = np.random.default_rng(seed)
    g = to_sigma_delta(every_op_graph(rng, "subtract", "cumulative"), bits, step)
    x = every_op_input(rng, 6)
    y = rng.integers(0, 5, 6)
    ref = np_sim(g, x, T=[1, 3, 5], y=y, record=RECORD, show_progress=False)
    # odd chunk and batch sizes: the codes q(t) carry across chunks (nothing is re-sent) and batches
    got = simulate(g, x, T=[1, 3, 5], y=y, record=RECORD, dtype=dtype, batch_size=4, time_chunk=2, threads=1,
                   show_progress=False)
    same_sd_run(ref, got)
    assert any(max(h) for h in ref.records["payload_histogram"].values())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_feature_graph_identical_to_numpy(dtype):
    """Both max pools (static and time-varying) pool the values; a residual add and a concat."""
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    rng = np.random.default_rng(3)
    g = to_sigma_delta(feature_graph(rng, "subtract", "cumulative"), 3, 1 / 8)
    x = dyadic_input(rng, 5)
    ref = np_sim(g, x, T=[2, 4], record=RECORD, show_progress=False)
    got = simulate(g, x, T=[2, 4], record=RECORD, dtype=dtype, batch_size=3, threads=1, show_progress=False)
    same_sd_run(ref, got)


def test_layer_scan_is_the_closed_form(torch):
    """On time-varying sigma (as a changing input would give): q = clip(floor(sigma / step + 1/2), 0, 2^B - 1),
    s(t) = q(t) - q(t-1) with q(0) = 0, x = step q; a run cut into chunks equals one run."""
    from snnc.runtime.torch_sim.neurons import SigmaDeltaLayer
    rng = np.random.default_rng(8)
    bits, T, n = 3, 7, 4
    step = np.array([0.25, 0.125, 0.5], np.float32)
    op = SigmaDeltaNeuron(threshold=step * 7, v_init=np.zeros(3, np.float32), reset="subtract", step=step, bits=bits)
    layer = SigmaDeltaLayer(op, torch.float64)
    sigma = rng.normal(0.5, 1.2, (T, n, 3, 2, 2))
    sh = step.astype(np.float64).reshape(1, 3, 1, 1)
    q = np.clip(np.floor(sigma / sh + 0.5), 0, 2 ** bits - 1)
    s = np.diff(q, axis=0, prepend=0)
    x, got_s, q_last = layer.scan(layer.start(n, (3, 2, 2)), torch.tensor(sigma), T, False)
    np.testing.assert_array_equal(got_s.numpy(), s)
    np.testing.assert_array_equal(x.numpy(), q * sh)
    np.testing.assert_array_equal(q_last.numpy(), q[-1])
    assert (s < 0).any() and (s > 1).any()
    x1, s1, q1 = layer.scan(layer.start(n, (3, 2, 2)), torch.tensor(sigma[:3]), 3, False)
    x2, s2, _ = layer.scan(q1, torch.tensor(sigma[3:]), T - 3, False)
    assert torch.equal(torch.cat([s1, s2]), got_s) and torch.equal(torch.cat([x1, x2]), x)
    xc, sc, _ = layer.scan(layer.start(n, (3, 2, 2)), torch.tensor(sigma[0]), 3, True)   # constant input
    assert torch.equal(sc[0], got_s[0]) and not sc[1:].any() and torch.equal(xc[2], x[0])


def test_spiking_net_records_payloads(torch):
    """``SpikingNet`` on a sigma-delta graph: the "spikes" record holds the payloads s(t), "membrane"
    sigma(T), ``payloads`` the histogram of |s|; the continuation from a state sends nothing again."""
    from snnc.compiler.execute import run
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(4)
    g = to_sigma_delta(feature_graph(rng), 4, 1 / 16)
    x = dyadic_input(rng, 3)
    net = SpikingNet(g, dtype=torch.float64)
    with torch.no_grad():
        r = net(x, 2, record=("spikes", "counts", "membrane"))
        more = net(None, 3, state=r.state)
    vals = run(g, x, keep="all")
    for name in net.neurons:
        q = np.rint(vals[name] * 16)
        np.testing.assert_array_equal(r.spikes[name][0].numpy(), q)
        assert not r.spikes[name][1].any()
        np.testing.assert_array_equal(r.membrane[name].numpy(), vals[g.node(name).inputs[0]])
        np.testing.assert_array_equal(r.counts[name].numpy(), q != 0)
        h = np.bincount(q[q != 0].astype(np.int64), minlength=16)
        np.testing.assert_array_equal(r.payloads[name].numpy(), h)
    assert all(float(v.sum()) == 0 for v in more.spikes_per_step.values())
    np.testing.assert_array_equal(more.output[-1].numpy(), r.output[0].numpy())


def test_mixed_neuron_kinds_are_refused(torch):
    from snnc.compiler.errors import BackendError
    from snnc.runtime.torch_sim import SpikingNet
    g = feature_graph(np.random.default_rng(0))
    sd = to_sigma_delta(g, 4, 1 / 16)
    mixed = g.rebuild([(n.name, sd.node(n.name).op if n.name == "n2" else n.op, n.inputs) for n in g.nodes])
    with pytest.raises(BackendError, match="mixes IFNeuron and SigmaDeltaNeuron"):
        SpikingNet(mixed)
    with pytest.raises(BackendError, match="quantised ANN"):     # fine-tuning trains IF networks only
        SpikingNet(sd).ann_forward(dyadic_input(np.random.default_rng(0), 2))


def test_unknown_record_refused(torch):
    from snnc.compiler.errors import UsageError
    from snnc.runtime.torch_sim import simulate
    rng = np.random.default_rng(0)
    g = to_sigma_delta(feature_graph(rng), 4, 1 / 16)
    with pytest.raises(UsageError, match="sigma-delta simulation records counts, output"):
        simulate(g, dyadic_input(rng, 2), T=2, record=("spikes",), show_progress=False)


# ---- the example model ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    calib = load_data("mnist", n=500).x
    art = snnc.compile(str(example_model_path()), calib, iters=5, neuron="sigma-delta", act_bits=8)
    return art, load_data("mnist:test", n=48)


def _grid(a, bits):
    return None if a is None else (np.round(np.asarray(a, np.float64) * 2 ** bits) / 2 ** bits).astype(np.float32)


def test_example_identical_in_float64(example):
    """Weights on a 2^-10 grid, images on 2^-8, steps 2^-8 (codes 0..255): every sum is exact in float32,
    so torch float64 and NumPy float32 agree bit for bit in every count and readout."""
    from snnc.compiler.artifact import Artifact
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    art, test = example
    spec = []
    for n in art.snn.nodes:
        if n.type == "SigmaDeltaNeuron":
            op = replace(n.op, step=np.full_like(n.op.step, 2.0 ** -8))
        else:
            op = replace(n.op, **{k: _grid(v, 10) for k, v in n.op.arrays().items()})
        spec.append((n.name, op, n.inputs))
    dy = Artifact(art.snn.rebuild(spec), art.ann, art.meta)
    assert {n.type for n in dy.snn.nodes} >= {"Conv2d", "ChannelAffine", "Add", "MaxPool2d", "SigmaDeltaNeuron"}
    x = _grid(test.x, 8)
    ref = np_sim(dy, x, T=[1, 2, 4], y=test.y, record=RECORD, show_progress=False)
    got = simulate(dy, x, T=[1, 2, 4], y=test.y, record=RECORD, dtype="float64", time_chunk=3, show_progress=False)
    same_sd_run(ref, got)


def _bound_graph(graph):
    """``oracles.abs_graph`` with each sigma-delta layer as its clip level theta (constant): the layer sends
    step q <= theta, so downstream sums of |terms| are bounded by the same graph on |x|."""
    spec = []
    for n in graph.nodes:
        if n.type == "SigmaDeltaNeuron":
            op = ChannelAffine(np.zeros_like(n.op.threshold), np.asarray(n.op.threshold, np.float32))
        else:
            op = abs_op(n.op)
        spec.append((n.name, op, n.inputs))
    return graph.rebuild(spec)


def test_example_float32_within_the_float32_bound(example, torch):
    """Real float32 weights: torch and NumPy form each pre-activation with different kernels. Per sample,
    up to the first layer where a code differs, sigma agrees within k eps32 sum|terms| (``f32_sum_tol``,
    k the terms on the longest path); a code may differ only where NumPy's sigma / step lies within that
    bound of a rounding boundary (a half-integer); with every code equal, the logits agree within the bound."""
    from snnc.compiler.execute import run
    from snnc.compiler.ir.ops.neuron import activation_code
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import SpikingNet, simulate
    art, test = example
    g, x = art.snn, test.x
    ref = np_sim(art, x, T=[1, 2], y=test.y, show_progress=False)
    got = simulate(art, x, T=[1, 2], y=test.y, show_progress=False)
    vals = run(g, x, keep="all")
    bound = run(_bound_graph(g), np.abs(x), keep="all")
    with torch.no_grad():
        r = SpikingNet(g, dtype=torch.float32)(x, 1, record=("membrane",))
    eps = np.finfo(np.float32).eps
    layers = [n for n in g.nodes if n.type == "SigmaDeltaNeuron"]
    agree = np.ones(len(x), bool)
    for n in layers:
        pre, shape = n.inputs[0], (1, -1) + (1,) * (len(n.shape) - 1)
        step = n.op.step.reshape(shape)
        tol = f32_sum_tol(path_terms(g, pre), bound[pre])
        sig_t = r.membrane[n.name].numpy()
        q_t = activation_code(sig_t, step, n.op.bits)
        q_n = activation_code(vals[pre], step, n.op.bits)
        for i in np.flatnonzero(agree):
            assert (np.abs(sig_t[i] - vals[pre][i]) <= tol[i]).all(), (n.name, i)
            diff = q_t[i] != q_n[i]
            if diff.any():
                u = (vals[pre][i].astype(np.float64) / step[0])[diff]
                near = np.abs(u + 0.5 - np.rint(u + 0.5)) <= (tol[i] / step[0])[diff] + 2 * eps * (np.abs(u) + 1)
                assert near.all(), (n.name, i, u[~near])
                agree[i] = False
    assert agree.sum() >= len(x) // 2, "codes differ in most samples: the test does not test the logits"
    out = g.outputs[0]
    tol = f32_sum_tol(path_terms(g, out), bound[out])
    for T in (1, 2):
        assert (np.abs(got.logits[T][agree] - ref.logits[T][agree]) <= tol[agree]).all(), T
    for la, lb in zip(ref.activity.layers, got.activity.layers):
        assert la.name == lb.name and len(lb.spikes_per_step) == 2 and lb.spikes_per_step[1] == 0
    if agree.all():
        assert got.records["payload_histogram"] == ref.records["payload_histogram"]


def test_simulate_cli_torch_backend(example, tmp_path, capsys):
    """`snnc simulate --backend torch` on a sigma-delta artifact: the NumPy run's report (graded spikes, payload
    histogram, accuracy per T) with the torch backend named; its activity record prices graded ops."""
    import json
    from snnc.cli import main
    art, test = example
    path = art.save(tmp_path / "sd.snnc")
    np.savez(tmp_path / "d.npz", x=test.x[:16], y=test.y[:16])
    runs = {}
    for backend in ("numpy", "torch"):
        act = tmp_path / f"{backend}.json"
        assert main(["simulate", str(path), "--data", str(tmp_path / "d.npz"), "--T", "1,2", "--json",
                     "--backend", backend, "--activity-out", str(act)]) == 0
        runs[backend] = json.loads(capsys.readouterr().out)
    a, b = runs["numpy"], runs["torch"]
    assert b["neuron"] == "sigma-delta" and b["backend"] == "torch-sigma-delta" and b["torch"]["dtype"] == "float32"
    assert b["payload_histogram"].keys() == a["payload_histogram"].keys()
    assert [r["T"] for r in b["sweep"]] == [1, 2] and b["sweep"][1]["spikes_per_image"] == b["sweep"][0]["spikes_per_image"]
    assert main(["estimate", str(path), "--activity", str(tmp_path / "torch.json"), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)["counts"]
    assert c["payload_bits"] == 9 and c["graded_ops"] > 0
