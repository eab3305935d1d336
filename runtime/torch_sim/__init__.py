"""Torch backend: the compiled spiking network as a differentiable ``torch.nn.Module``.

The same semantics as the NumPy reference simulator (``snnc.runtime.numpy_sim``;
algorithms.md sections 1, 4, 6, 7): direct input coding, bias every step, IF
neurons with ``v >= theta``, reset by subtraction or to zero, v(0) = v_init,
x(t) = s(t) * theta, max pools in ``pre-neuron`` or ``cumulative`` mode, the
readout window of ``snnc.compiler.readout``, spikes and exact SOPs per layer and
step. Every op the NumPy simulator runs has one entry in the lowering table
``lowering.LOWERING`` ({op class: torch module}); an op without one is a
``BackendError`` naming the node and the op. This package imports torch at
module level; the rest of snnc imports it lazily.

Interface (``snnc finetune`` builds on it)::

    net = SpikingNet(graph, dtype=torch.float32, device="cpu", spike_fn=heaviside, learn_threshold=False,
                     reset=None)
        # graph: a compiled (folded, unit-threshold) spiking IR graph (art.snn); pool modes from the graph,
        # reset rule from each IF op unless reset="subtract" | "zero" overrides it for all.
        # Conv/Linear weight & bias, BatchNorm gamma/beta, ChannelAffine scale/shift: nn.Parameter.
        # IF threshold, v_init: nn.Parameter with requires_grad=learn_threshold.
        # net.module(node_name) -> that node's torch module (IFLayer for IF nodes).
    r = net(x, T, record=("counts", "spikes", "membrane"), state=None)    # -> RunResult
        # r.output: readout currents I_L(t), (T, N, K) (differentiable)
        # r.spikes_per_step / r.sop_per_step: {layer: (T,) float64}, summed over the batch (detached)
        # r.counts: {layer: (N, *shape)} spikes per neuron over T (differentiable with a surrogate)
        # r.spikes: {layer: (T, N, *shape)}; r.membrane: {layer: v(T)}
        # r.state: pass as state= to continue for more steps (x is then ignored)
    readout_logits(r.output, T, D) -> mean_{t=D+1..T} I_L(t), (N, K)     # the readout window
    net.spike_fn = SurrogateSpike("sigmoid" | "atan" | "triangle", alpha)  # BPTT (exact Heaviside forward)
    net.ann_forward(x, activation="clip" | "relu" | fn(z, theta), layers=False)
        # the same parameters as an ANN (clip(z, 0, theta) = the clip-ANN); layers=True also returns
        # {IF layer: activation}
    net.to_graph() -> Graph      # trained parameters in fresh frozen ops (same names, shapes, meta)
    simulate(model, x, T=[...], y=..., delay=..., device=, dtype="float32", threads=, record=...)
        # -> numpy_sim.SimResult (logits / accuracy per T, Activity with source="torch")

A sigma-delta graph (``SigmaDeltaNeuron`` layers, ``snnc compile --neuron sigma-delta``) runs with the
same interface and the NumPy sigma-delta simulator's semantics (``neurons.SigmaDeltaLayer``): r.spikes holds
the graded payloads s(t), spikes_per_step / sop_per_step graded spikes and graded ops, r.payloads the
histogram of |s|; ``simulate`` reads the logits for T at step T and adds ``records["payload_histogram"]``.

``heaviside`` is the exact step, no gradient; ``SurrogateSpike`` has the same
forward and a surrogate derivative (``neurons.py``).
"""
from snnc.runtime.torch_sim.device import resolve_device
from snnc.runtime.torch_sim.lowering import LOWERING
from snnc.runtime.torch_sim.net import RunResult, SpikingNet, check_supported, readout_logits
from snnc.runtime.torch_sim.neurons import SURROGATES, IFLayer, SurrogateSpike, heaviside
from snnc.runtime.torch_sim.simulate import simulate

__all__ = ["SpikingNet", "RunResult", "SurrogateSpike", "heaviside", "IFLayer", "SURROGATES", "LOWERING",
           "simulate", "check_supported", "readout_logits", "resolve_device"]
