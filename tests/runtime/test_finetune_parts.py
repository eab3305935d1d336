"""The parts of ``snnc finetune`` against closed forms: the KD loss, the surrogate spikes, pipe-S's SReLU,
SNN2ANN's mapping units and its threshold adjustment as an input rescaling."""
import math

import numpy as np
import pytest

from snnc.compiler.data import example_model_path


def test_kd_loss_matches_the_closed_form(torch, rng):
    from snnc.runtime.finetune.losses import KD_ALPHA, KD_TAU, kd_loss
    s, t = rng.normal(size=(5, 4)) * 3, rng.normal(size=(5, 4)) * 3
    y = rng.integers(0, 4, 5)

    def softmax(a):
        e = np.exp(a - a.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    ce = -np.mean(np.log(softmax(s)[np.arange(5), y]))
    p, q = softmax(t / KD_TAU), softmax(s / KD_TAU)
    kl = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))
    got = kd_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y))
    # float64 sums of a few terms of size ~10: a bound far above rounding, far below any formula error
    assert float(got) == pytest.approx(ce + 0.3 * 16 * kl, abs=1e-12 * 100)
    assert (KD_ALPHA, KD_TAU) == (0.3, 4.0)


def test_rect_spike_forward_is_the_step_and_backward_the_rectangle(torch):
    from snnc.runtime.finetune.spikes import RectSpike
    v = torch.tensor([-0.5, 0.01, 0.6, 0.999, 1.0, 1.4, 1.99, 2.5], dtype=torch.float64, requires_grad=True)
    s = RectSpike(width=2.0)(v, torch.tensor(1.0, dtype=torch.float64))
    assert s.tolist() == [0, 0, 0, 0, 1, 1, 1, 0][:5] + [1, 1, 1]
    s.sum().backward()
    assert v.grad.tolist() == [0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0]


def test_srelu_starts_as_the_clip_ann_and_ends_as_the_one_step_neuron(torch):
    from snnc.runtime.finetune.spikes import srelu
    z = torch.linspace(-1, 2, 301, dtype=torch.float64, requires_grad=True)
    assert torch.equal(srelu(z, 0.0), torch.clamp(z, 0, 1))
    assert torch.equal(srelu(z, 0.5), (z >= 0.5).to(z.dtype))          # v(0) = 0.5 + z >= 1
    mid = srelu(z, 0.25)
    assert torch.allclose(mid, torch.clamp((z - 0.25) / 0.5, 0, 1), atol=0, rtol=0)
    mid.sum().backward()
    assert torch.equal(z.grad, ((z >= 0) & (z <= 1)).to(z.dtype))     # Eq. 7 with 2U = 1


def test_mapping_units_forward_the_spike_rate_and_backward_relu(torch):
    from snnc.runtime.finetune.snn2ann import resu, stsu
    z = torch.tensor([-1.0, 0.3, 2.0], requires_grad=True)
    rate = torch.tensor([0.25, 0.5, 1.0])
    out = stsu(z, rate)
    assert torch.equal(out, rate)
    out.sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0]
    z.grad = None
    out = resu(z, rate)
    assert torch.equal(out, torch.tensor([0.0, 0.5, 1.0]))   # the noisy spike at z < 0 is filtered
    out.sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0]


@pytest.fixture(scope="module")
def art():
    import snnc
    return snnc.compile(str(example_model_path()), "mnist", iters=20)


def test_ata_rescaling_equals_raising_the_threshold(torch, art):
    """Scaling a layer's input synapses by 1/f gives the spikes of threshold f and v(0) = f/2 (f = 2: exact)."""
    from snnc.compiler.data import load_data
    from snnc.runtime.finetune import net as simnet
    x = load_data("mnist:test", n=16).x
    name = "4_relu_Relu_output_0"
    assert simnet.input_synapses(art.snn, name) == ["2_Relu_output_0_gain_4_Add_output_0",
                                                   "4_body_body.3_Conv_output_0"]
    a, b = simnet.build(art.snn, dtype=torch.float64), simnet.build(art.snn, dtype=torch.float64)
    with torch.no_grad():
        a.module(name).threshold.fill_(2.0)
        a.module(name).v_init.fill_(1.0)
    simnet.scale_input(b, art.snn, name, 0.5)
    ca = a(x, 6, record=("counts",)).counts[name]
    cb = b(x, 6, record=("counts",)).counts[name]
    assert torch.equal(ca, cb) and ca.sum() > 0


def test_finetune_rejects_T_below_a_fixed_readout_window(art):
    from snnc.compiler.artifact import Artifact
    from snnc.compiler.errors import UsageError
    from snnc.runtime.finetune import check_T
    fixed = Artifact(art.snn, art.ann, {**art.meta, "readout": {"mode": "fixed", "delay": 4}})
    with pytest.raises(UsageError, match="below the artifact's readout window"):
        check_T(fixed, 4)
    assert check_T(fixed, 5) == 4 and check_T(art, 4) == 0
    assert check_T(art, 8) == min(math.floor(art.meta["readout"]["t0"]), 4)


def test_teacher_with_other_outputs_is_rejected(art):
    from snnc.compiler.errors import UsageError
    from snnc.compiler.ir import Flatten, Graph, Input, Linear
    from snnc.runtime.finetune.teacher import check_teacher
    g = Graph.build([("x", Input(shape=(1, 28, 28)), []), ("f", Flatten(), ["x"]),
                     ("y", Linear(weight=np.zeros((5, 784), np.float32), bias=None), ["f"])], ["y"])
    with pytest.raises(UsageError, match=r"output shape \(5,\) does not match the artifact's readout \(10,\)"):
        check_teacher(art, g, "t.onnx")
    check_teacher(art, art.ann, "ann")


@pytest.mark.parametrize("clip", [None, 5.0])
def test_a_methods_max_grad_norm_bounds_the_step(torch, art, clip):
    """``max_grad_norm`` (IDSNN: 5) clips the gradient's global norm before the step: one plain-SGD step at lr 1
    moves the parameters by exactly the clipped gradient (norm 5), and by the raw one without a clip."""
    from snnc.compiler.data import load_data
    from snnc.runtime.finetune import FinetuneConfig, net as simnet
    from snnc.runtime.finetune.idsnn import IDSNN
    from snnc.runtime.finetune.loop import Loop
    from snnc.runtime.finetune.pipe_s import PipeS
    assert IDSNN.max_grad_norm == 5.0

    class Big(PipeS):            # pipe-S's SANN stage with its loss scaled up: a gradient norm far above 5
        max_grad_norm = clip

        def loss(self, x, y, idx, step):
            loss, logits = super().loss(x, y, idx, step)
            return 1e3 * loss, logits

    data = load_data("mnist:test", n=8)
    cfg = FinetuneConfig(method="pipe-s", lr=1.0, batch_size=8).resolved()     # SGD without momentum
    net = simnet.build(art.snn, dtype=torch.float64)
    loop = Loop(Big(net, art.snn, 4, 0, 2), cfg, data, data, None, {})
    before = [p.detach().clone() for p in net.parameters() if p.requires_grad]
    loop._step(np.arange(8))
    after = [p.detach() for p in net.parameters() if p.requires_grad]
    moved = math.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(after, before)))
    raw = math.sqrt(sum(float((p.grad ** 2).sum()) for p in net.parameters() if p.grad is not None))
    if clip is None:
        assert moved > 50 and moved == pytest.approx(raw, rel=1e-9)
    else:
        assert moved == pytest.approx(clip, rel=1e-6)     # clip_grad_norm_ divides by (norm + 1e-6)
