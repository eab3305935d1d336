"""SNN2ANN: the SNN trained through a weight-shared ANN branch whose activations are the SNN's spikes.

Tang et al., "SNN2ANN: A Fast and Memory-Efficient Training Framework for
Spiking Neural Networks" (../shared/papers/002_*). Per optimiser step:

1. the SNN branch runs T steps without gradient and counts each neuron's
   spikes (Algorithm 1, "obtain the accumulated spikes");
2. the ANN branch (the same parameters, ``net.ann_forward``) computes every
   neuron layer's pre-activation z from the previous layer's *mapped* output
   and replaces its activation by a spiking mapping unit (section III.C), with
   x_r = ReLU(z) and r = spike count / T:

       ReSU (Eq. 8):   x_q = sign(x_r) * r,       dL/dx_r = dL/dx_q (STE, Eq. 10)
       STSU (Eq. 13):  x_q = r + x_r - c, c = x_r (a constant: no gradient)

   so the branch's forward values are the SNN's spike features and its
   gradient is the ANN's (Eqs. 11-12, 14-15); no backpropagation through time;
3. cross-entropy on the branch's logits (section IV.B.3), Adam lr 1e-3,
   batch 512 (Table III);
4. adaptive threshold adjustment (ATA, section III.D, Eqs. 16-17) per
   iteration and layer: V <- V (1 + xi (1 - alpha)), xi = tau when the noisy
   fraction (spikes of neurons whose ANN-branch ReLU is 0, over all the
   layer's spikes) exceeds epsilon; tau = alpha = 0.1 (section IV.B.3),
   epsilon = 0.1.

The rate r = count / T replaces the paper's raw count (its BN transfer,
Eq. 20, divides by T for the same reason): in a folded network a rate is what
the next layer's weights expect. ATA raises a layer's threshold V by the
equivalent rescaling of its input synapses by 1/V (``net.scale_input``), so
the network stays folded (threshold 1) and is an ordinary artifact; the ANN
branch is unchanged by it (sign(x_r) and the rates do not depend on the
positive scale of z). Other deviations: docs/algorithms.md, "Fine-tuning".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from snnc.runtime.finetune import net as simnet
from snnc.runtime.finetune.method import Method

ATA_TAU = 0.1
ATA_ALPHA = 0.1
ATA_EPSILON = 0.1


def resu(z: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """x_q = sign(ReLU(z)) * rate forward, gradient of ReLU(z) backward (Eqs. 8, 10)."""
    xr = F.relu(z)
    return xr + ((xr > 0).to(z.dtype) * rate - xr).detach()


def stsu(z: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """x_q = rate + x_r - c, c = x_r detached (Eq. 13)."""
    xr = F.relu(z)
    return rate + xr - xr.detach()


UNITS = {"stsu": stsu, "resu": resu}


class SNN2ANN(Method):
    name = "snn2ann"
    paper = "SNN2ANN (Tang et al.), sections III.B-III.D, IV.B.3"
    unit = "stsu"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.neurons = simnet.neuron_names(self.graph)
        self.vth = {n: 1.0 for n in self.neurons}
        self.noisy = {n: 0.0 for n in self.neurons}

    def loss(self, x, y, idx, step):
        with torch.no_grad():
            _, counts = simnet.run_snn(self.net, x, self.T, simnet.heaviside, counts=True)
        noisy, fn = {}, UNITS[self.unit]

        def act(name, z):
            c = counts[name]
            total = float(c.sum())
            noisy[name] = float((c * (z <= 0).to(c.dtype)).sum()) / total if total > 0 else 0.0
            return fn(z, c / self.T)

        logits = simnet.run_ann(self.net, x, act)
        self.noisy = noisy
        return F.cross_entropy(logits, y), logits

    def after_step(self, step):
        """ATA (Eqs. 16-17): raise the threshold of every layer whose noisy fraction exceeds epsilon."""
        for name, frac in self.noisy.items():
            if frac > ATA_EPSILON:
                factor = 1.0 + ATA_TAU * (1.0 - ATA_ALPHA)
                simnet.scale_input(self.net, self.graph, name, 1.0 / factor)
                self.vth[name] *= factor

    def state(self):
        return {"vth": dict(self.vth)}

    def load_state(self, state):
        self.vth = {k: float(v) for k, v in state["vth"].items()}

    def record(self):
        return {"paper": self.paper, "mapping_unit": self.unit, "ata": {"tau": ATA_TAU, "alpha": ATA_ALPHA,
                "epsilon": ATA_EPSILON}, "thresholds_raised": {k: v for k, v in self.vth.items() if v != 1.0}}

    def postfix(self):
        return {"noisy": f"{max(self.noisy.values(), default=0.0):.3f}"}
