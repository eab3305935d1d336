"""Torch backend vs the NumPy simulator: identical spikes, readouts, SOPs on dyadic graphs of every op."""
from __future__ import annotations

import numpy as np
import pytest

from .test_numpy_sim import dyadic_input, feature_graph
from .torch_nets import every_op_graph, every_op_input

RECORD = ("spikes", "output", "counts", "membrane")


@pytest.fixture(autouse=True)
def _torch(torch_one_thread):   # skip without torch (fail in CI), one thread (tests/conftest.py)
    return torch_one_thread


def same_run(a, b):
    """Every record, readout and per-step count of two SimResults is identical."""
    assert a.T == b.T and a.delays == b.delays
    for name in a.records["spikes"]:
        assert a.records["spikes"][name].any(), f"layer {name} never fires: the test graph is degenerate"
        np.testing.assert_array_equal(b.records["spikes"][name], a.records["spikes"][name], err_msg=name)
        np.testing.assert_array_equal(b.records["counts"][name], a.records["counts"][name], err_msg=name)
        np.testing.assert_array_equal(b.records["membrane"][name], a.records["membrane"][name], err_msg=name)
    np.testing.assert_array_equal(b.records["output"], a.records["output"])
    for t in a.T:
        np.testing.assert_array_equal(b.logits[t], a.logits[t])
    assert [l.name for l in b.activity.layers] == [l.name for l in a.activity.layers]
    for la, lb in zip(a.activity.layers, b.activity.layers):
        assert lb.spikes_per_step == la.spikes_per_step and lb.sop_per_step == la.sop_per_step, la.name
    assert b.activity.first_layer_macs == a.activity.first_layer_macs and b.activity.source == "torch"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("pool_mode", ["pre-neuron", "cumulative"])
def test_feature_graph_identical_to_numpy(dtype, reset, pool_mode):
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    rng = np.random.default_rng(1)
    g = feature_graph(rng, reset, pool_mode)
    x = dyadic_input(rng, 5)
    ref = np_sim(g, x, T=[5, 19], record=RECORD, delay=2, show_progress=False)
    # odd chunk and batch sizes: state carries across chunks and batches
    got = simulate(g, x, T=[5, 19], record=RECORD, delay=2, dtype=dtype, batch_size=2, time_chunk=4, threads=1,
                   show_progress=False)
    same_run(ref, got)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reset,pool_mode,seed", [("subtract", "cumulative", 0), ("subtract", "pre-neuron", 1),
                                                   ("zero", "cumulative", 2)])
def test_every_op_identical_to_numpy(dtype, reset, pool_mode, seed):
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import LOWERING, simulate
    rng = np.random.default_rng(seed)
    g = every_op_graph(rng, reset, pool_mode)
    assert set(LOWERING) <= {type(n.op) for n in g.nodes}, "a lowered op is missing from the test graph"
    x = every_op_input(rng, 6)
    ref = np_sim(g, x, T=[3, 24], record=RECORD, show_progress=False)
    got = simulate(g, x, T=[3, 24], record=RECORD, dtype=dtype, batch_size=4, time_chunk=5, threads=1,
                   show_progress=False)
    same_run(ref, got)


def test_batches_on_worker_threads_identical_to_numpy():
    """threads > 1 runs whole batches on worker threads (one torch thread each): the same run, every record."""
    import torch
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import simulate
    rng = np.random.default_rng(3)
    g = every_op_graph(rng, "subtract", "cumulative")
    x = every_op_input(rng, 7)
    ref = np_sim(g, x, T=[3, 11], record=RECORD, show_progress=False)
    got = simulate(g, x, T=[3, 11], record=RECORD, dtype="float64", batch_size=2, time_chunk=4, threads=3,
                   show_progress=False)
    same_run(ref, got)
    assert torch.get_num_threads() == 1      # the caller's setting (the fixture's one thread) is restored


def test_lowering_covers_every_op_the_numpy_simulator_runs():
    """Every executor op but the neurons (IFNeuron is the scan in neurons.py, SigmaDeltaNeuron the
    quantiser there: tests/runtime/test_torch_sigma_delta.py)."""
    from snnc.compiler.execute import KERNELS
    from snnc.runtime.torch_sim import LOWERING
    from snnc.compiler.ir import IFNeuron, SigmaDeltaNeuron
    assert set(KERNELS) - {IFNeuron, SigmaDeltaNeuron} == set(LOWERING)


def test_every_module_equals_the_executor_op(torch):
    """Each lowered module (float64) on the executor's own inputs (rounded to a 1/64 grid, so one op is
    exact in float32 too) equals ``execute.apply`` bit for bit; IF layers read as clip(z, 0, theta)."""
    from snnc.compiler.execute import apply, run
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(4)
    g = every_op_graph(rng)
    x = every_op_input(rng, 3)
    net = SpikingNet(g, dtype=torch.float64)
    ref = run(g, x, keep="all")
    for node in g.nodes[1:]:
        ins = [np.round(ref[s] * 64) / 64 for s in node.inputs]
        want = apply(node.op, *[a.astype(np.float32) for a in ins])
        if node.type == "IFNeuron":
            theta = net.module(node.name).threshold.reshape((1, -1) + (1,) * (ins[0].ndim - 2))
            got = torch.minimum(torch.relu(torch.tensor(ins[0], dtype=torch.float64)), theta)
        else:
            got = net.module(node.name)(*[torch.tensor(a, dtype=torch.float64) for a in ins])
        np.testing.assert_array_equal(got.detach().numpy(), want, err_msg=node.name)


def test_ann_forward_is_the_clip_ann(torch):
    """ann_forward("clip") is the executor's clip-ANN up to float32 rounding: at most (nodes x fan-in)
    roundings of eps32 relative to the largest magnitude met on the way."""
    from snnc.compiler.execute import run
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(4)
    g = every_op_graph(rng)
    x = every_op_input(rng, 3)
    net = SpikingNet(g, dtype=torch.float64)
    out, acts = net.ann_forward(x, "clip", layers=True)
    ref = run(g, x, keep="all")
    fan_in = max(int(np.prod(n.op.weight.shape[1:])) for n in g.nodes if hasattr(n.op, "weight"))
    scale = max(float(np.abs(v).max()) for v in ref.values())
    tol = len(g.nodes) * fan_in * np.finfo(np.float32).eps * scale
    np.testing.assert_allclose(out.detach().numpy(), ref["out"], rtol=0, atol=tol)
    for name, a in acts.items():
        np.testing.assert_allclose(a.detach().numpy(), ref[name], rtol=0, atol=tol, err_msg=name)
    relu = net.ann_forward(x, "relu", layers=True)[1]["n1"].detach().numpy()
    assert (ref["mp0"] > 1).any()          # the first IF layer is where clip and ReLU part
    np.testing.assert_allclose(relu, np.maximum(ref["mp0"], 0), rtol=0, atol=tol)
    own = net.ann_forward(x, lambda z, theta: torch.relu(z) * theta, layers=True)[1]["n1"]
    np.testing.assert_array_equal(own.detach().numpy(), relu)     # theta = 1 on n1


def test_continuing_from_state_equals_one_run(torch):
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(5)
    g = feature_graph(rng, "subtract", "cumulative")
    x = dyadic_input(rng, 3)
    net = SpikingNet(g, dtype=torch.float64)
    whole = net(x, 12, record=("spikes", "counts"))
    a = net(x, 5, record=("spikes",))
    b = net(None, 7, record=("spikes",), state=a.state)
    assert torch.equal(torch.cat([a.output, b.output]), whole.output)
    for k in whole.spikes:
        assert torch.equal(torch.cat([a.spikes[k], b.spikes[k]]), whole.spikes[k])
        assert torch.equal(whole.counts[k], whole.spikes[k].sum(0))
        assert torch.equal(torch.cat([a.sop_per_step[k], b.sop_per_step[k]]), whole.sop_per_step[k])


def test_readout_logits_is_the_window_mean(torch):
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import SpikingNet, readout_logits
    rng = np.random.default_rng(6)
    g = feature_graph(rng)
    x = dyadic_input(rng, 4)
    r = SpikingNet(g, dtype=torch.float64)(x, 16)
    ref = np_sim(g, x, T=[9, 16], delay=3, show_progress=False)
    for T in (9, 16):
        np.testing.assert_array_equal(readout_logits(r.output, T, 3).detach().numpy().astype(np.float32), ref.logits[T])
    with pytest.raises(ValueError, match="does not fit"):
        readout_logits(r.output, 17, 0)


def test_reset_override_equals_a_graph_with_that_reset(torch):
    from dataclasses import replace
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(7)
    g = feature_graph(rng, "subtract")
    x = dyadic_input(rng, 3)
    net = SpikingNet(g, dtype=torch.float64, reset="zero")
    zero = g.rebuild([(n.name, replace(n.op, reset="zero") if n.type == "IFNeuron" else n.op, n.inputs)
                      for n in g.nodes])
    ref = np_sim(zero, x, T=10, record=("output",), show_progress=False)
    np.testing.assert_array_equal(net(x, 10).output.detach().numpy(), ref.records["output"])
    assert {n.op.reset for n in net.to_graph().nodes if n.type == "IFNeuron"} == {"zero"}
    with pytest.raises(ValueError, match="reset must be"):
        SpikingNet(g, reset="leak")
