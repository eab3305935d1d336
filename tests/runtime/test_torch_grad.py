"""Training support of the torch backend: surrogate spikes, BPTT gradients (gradcheck), to_graph."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.ir import Conv2d, Flatten, Graph, IFNeuron, Input, Linear, MaxPool2d

from .test_numpy_sim import dyadic_input, feature_graph


@pytest.fixture(autouse=True)
def _torch(torch_one_thread):   # skip without torch (fail in CI), one thread (tests/conftest.py)
    return torch_one_thread


def tiny_graph(rng) -> Graph:
    """conv -> IF (subtract) -> conv -> cumulative max pool -> IF (reset to zero) -> linear."""
    w = lambda *s: (rng.standard_normal(s) * 0.6).astype(np.float32)
    return Graph.build([
        ("x", Input((1, 4, 4)), []),
        ("c1", Conv2d(w(2, 1, 3, 3), w(2) + 0.3, padding=(1, 1, 1, 1)), ["x"]),
        ("n1", IFNeuron(np.ones(2, np.float32), np.full(2, 0.5, np.float32)), ["c1"]),
        ("c2", Conv2d(w(2, 2, 3, 3), w(2) + 0.3, padding=(1, 1, 1, 1)), ["n1"]),
        ("mp", MaxPool2d(mode="cumulative"), ["c2"]),
        ("n2", IFNeuron(np.ones(2, np.float32), np.full(2, 0.5, np.float32), "zero"), ["mp"]),
        ("f", Flatten(), ["n2"]),
        ("out", Linear(w(3, 8), w(3)), ["f"]),
    ], ["out"])


@pytest.mark.parametrize("kind", ["sigmoid", "atan", "triangle"])
def test_surrogate_forward_is_heaviside_and_backward_its_derivative(torch, kind):
    from snnc.runtime.torch_sim import SurrogateSpike, heaviside
    u = torch.linspace(-1.5, 1.5, 301, dtype=torch.float64)
    u = torch.cat([u, torch.zeros(1, dtype=torch.float64)])            # v == theta fires
    theta = torch.tensor(1.0, dtype=torch.float64)
    v = (u + theta).requires_grad_(True)
    s = SurrogateSpike(kind)(v, theta)
    assert torch.equal(s, heaviside(v, theta)) and s[-1] == 1
    s.sum().backward()
    smooth = SurrogateSpike(kind, smooth_forward=True)
    vs = (u + theta).requires_grad_(True)
    (g,) = torch.autograd.grad(smooth(vs, theta).sum(), vs)            # d g(u) / du by autograd of g
    torch.testing.assert_close(v.grad, g, rtol=0, atol=1e-12)
    # the surrogate's derivative integrates g: finite differences of g equal the backward (off the kinks)
    pts = torch.tensor([-0.9, -0.3, 0.05, 0.4, 1.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: smooth(p, theta), (pts,), eps=1e-6, atol=1e-7)


def test_bptt_gradients_equal_finite_differences(torch):
    """With a smooth spike function the whole net is differentiable: gradcheck of the readout over T steps
    with respect to every weight, bias, threshold and v(0), through resets, the cumulative pool and time."""
    from snnc.runtime.torch_sim import SpikingNet, SurrogateSpike
    rng = np.random.default_rng(0)
    net = SpikingNet(tiny_graph(rng), dtype=torch.float64, spike_fn=SurrogateSpike("sigmoid", 4.0, True),
                     learn_threshold=True)
    x = torch.tensor(rng.random((2, 1, 4, 4)), dtype=torch.float64)
    names = [k for k, p in net.named_parameters() if p.requires_grad]
    assert any("threshold" in k for k in names) and any("v_init" in k for k in names)
    params = tuple(p.detach().clone().requires_grad_(True) for k, p in net.named_parameters() if p.requires_grad)

    def readout(*ps):
        return torch.func.functional_call(net, dict(zip(names, ps)), (x, 5)).output

    out = readout(*params)
    assert out.shape == (5, 2, 3) and out.std() > 0
    assert torch.autograd.gradcheck(readout, params, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_surrogate_training_lowers_the_loss_and_counts_carry_gradients(torch):
    from snnc.runtime.torch_sim import SpikingNet, SurrogateSpike, readout_logits
    rng = np.random.default_rng(2)
    g = feature_graph(rng)
    x = torch.tensor(dyadic_input(rng, 16))
    y = torch.tensor(rng.integers(0, 5, 16))
    torch.manual_seed(0)
    net = SpikingNet(g, spike_fn=SurrogateSpike("atan"))
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.02)
    losses = []
    for _ in range(15):
        r = net(x, 6, record=("counts",))
        loss = torch.nn.functional.cross_entropy(readout_logits(r.output, 6), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses
    assert all(c.requires_grad for c in r.counts.values())


def test_to_graph_writes_trained_parameters_back(torch):
    """A changed weight and threshold reach fresh read-only ops; the NumPy simulator runs the new graph
    exactly as the module does (dyadic values: exact in both)."""
    from snnc.runtime.numpy_sim import simulate as np_sim
    from snnc.runtime.torch_sim import SpikingNet
    rng = np.random.default_rng(3)
    g = feature_graph(rng)
    x = dyadic_input(rng, 4)
    net = SpikingNet(g, dtype=torch.float64, learn_threshold=True)
    with torch.no_grad():
        net.module("c2").weight += 0.0625
        net.module("n3").threshold.fill_(0.5)
        net.module("n3").v_init.fill_(0.25)
    new = net.to_graph()
    assert new is not g and [n.name for n in new.nodes] == [n.name for n in g.nodes] and new.meta == g.meta
    c2 = new.node("c2").op
    np.testing.assert_array_equal(c2.weight, g.node("c2").op.weight + np.float32(0.0625))
    assert not c2.weight.flags.writeable and c2.weight.dtype == np.float32
    assert new.node("n3").op.threshold.tolist() == [0.5] * 6 and g.node("n3").op.threshold.tolist() == [1.0] * 6
    r = net(x, 12, record=("spikes",))
    ref = np_sim(new, x, T=12, record=("spikes", "output"), show_progress=False)
    for k, s in r.spikes.items():
        np.testing.assert_array_equal(s.numpy() != 0, ref.records["spikes"][k], err_msg=k)
    np.testing.assert_array_equal(r.output.detach().numpy(), ref.records["output"])
