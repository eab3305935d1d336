"""pipe-S: ANN -> spiking-activation ANN (SANN) -> SNN fine-tuned by backpropagation through time.

Lin et al., "Rethinking Pretraining as a Bridge from ANNs to SNNs"
(../shared/papers/000_*, section III.B (1) and III.C):

* stage 1, SANN (section III.C, Eqs. 6-7): the converted network's neuron
  layers become progressively sharpened ReLUs F(z) = clip((z - a) / (b - a),
  0, 1), a + b = 2 U, a rising linearly from 0 to U, derivative 1 on [0, 2 U]
  (``spikes.srelu``). Here U = 0.5, the one-step threshold of a folded IF
  neuron with v(0) = 0.5, so the SANN starts as the clip-ANN (a = 0) and ends
  as the one-step spiking network (a = U);
* stage 2, SNN (section III.B (1)): the SANN's weights are the SNN's; it is
  fine-tuned over T steps with STBP (backpropagation through time with the
  rectangular surrogate, Wu et al. 2018, a = 1: ``RectSpike(width=1)``) on the
  cross-entropy of the readout-window logits;
* optimiser: SGD without momentum (section III.C, Fig. 2's caption).

The paper sharpens per epoch over many epochs; with a budget of one or two
epochs, a rises per optimiser step over the first half of the run's steps and
the SNN stage takes the second half. snnc's IF neuron (no leak, reset by
subtraction, v(0) = 0.5) replaces LIF with reset to zero so that the result
runs on every snnc backend. Both stated in docs/algorithms.md, "Fine-tuning".
"""
from __future__ import annotations

import torch.nn.functional as F

from snnc.runtime.finetune import net as simnet
from snnc.runtime.finetune.losses import window_logits
from snnc.runtime.finetune.method import Method
from snnc.runtime.finetune.spikes import U_EFF, RectSpike, srelu


class PipeS(Method):
    name = "pipe-s"
    paper = "pipe-S (Lin et al.), sections III.B-III.C"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.spike = RectSpike(width=1.0)
        self.sann_steps = max(self.total_steps // 2, 1)
        self.a = 0.0

    def sharpening(self, step: int) -> float:
        """a(step): 0 -> U linearly over the SANN stage (U at its last step)."""
        return U_EFF * min(1.0, (step + 1) / self.sann_steps)

    def loss(self, x, y, idx, step):
        if step < self.sann_steps:
            self.a = a = self.sharpening(step)
            logits = simnet.run_ann(self.net, x, lambda name, z: srelu(z, a))
        else:
            currents, _ = simnet.run_snn(self.net, x, self.T, self.spike)
            logits = window_logits(currents, self.delay)
        return F.cross_entropy(logits, y), logits

    def record(self):
        return {"paper": self.paper, "sann_steps": self.sann_steps, "snn_steps": self.total_steps - self.sann_steps,
                "srelu_u": U_EFF, **self.spike.record()}

    def postfix(self):
        return {"stage": "SANN" if self.a < U_EFF else "SNN", "a": f"{self.a:.3f}"}
