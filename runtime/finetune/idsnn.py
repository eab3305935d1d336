"""IDSNN: the SNN initialised from the ANN, trained by BPTT with a distillation loss from the ANN teacher.

Fan et al., "IDSNN: Towards High-Performance and Low-Latency SNN Training via
Initialization and Distillation" (Biomimetics 2023; ../shared/papers/003_*):

* initialisation (section 3.2): the student is the converted network itself,
  so it starts from the ANN's weights (folded BN, calibrated thresholds);
* surrogate gradient (section 3.1, Eq. 4 and Algorithm 1): the STBP rectangle
  of half-length lens = U_th around U_th, dF/dU = 1 / (2 U_th) = 1/2 on
  (0, 2) for the folded threshold 1 (``RectSpike(width=2)``);
* loss (section 3.3.1, Eq. 8): CE(s, y) + 0.3 * tau^2 * KL(softmax(t/tau) ||
  softmax(s/tau)), tau = 4, with s the SNN's readout-window logits at T and t
  the teacher ANN's logits (``losses.kd_loss``);
* optimiser (section 4.1): SGD, momentum 0.9, weight decay 1e-4, batch 64;
  the gradient's global norm is clipped at 5 (``max_grad_norm``; not in the
  paper, see below).

Deviations (docs/algorithms.md, "Fine-tuning"): snnc's IF neuron (no leak,
reset by subtraction, v(0) = 0.5) instead of LIF with reset to zero, direct
(analog) input instead of a Poisson encoder, the teacher is the source ANN
(same architecture, not a larger ResNet-34), learning rate 0.005 with a cosine
decay over the run instead of 0.05 with steps every 60 of 200 epochs (a
converted network is already near its optimum), and gradient-norm clipping at
5, the standard guard of backpropagation through time against exploding
gradients (Pascanu et al. 2013; 5 as in Sutskever et al. 2014): where the
converted network is far from the teacher at T (the suite's resnet at T = 4
predicts one class), the first gradient's norm is about 140 and one unclipped
step silences the network for good (its gradient then vanishes).
"""
from __future__ import annotations

from snnc.runtime.finetune import net as simnet
from snnc.runtime.finetune.losses import KD_ALPHA, KD_TAU, kd_loss, window_logits
from snnc.runtime.finetune.method import Method
from snnc.runtime.finetune.spikes import RectSpike


class IDSNN(Method):
    name = "idsnn"
    paper = "IDSNN (Fan et al. 2023), sections 3.1, 3.3, 4.1"
    needs_teacher = True
    max_grad_norm = 5.0

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.spike = RectSpike(width=2.0)

    def loss(self, x, y, idx, step):
        currents, _ = simnet.run_snn(self.net, x, self.T, self.spike)
        s = window_logits(currents, self.delay)
        return kd_loss(s, self.teacher[idx], y), s

    def record(self) -> dict:
        return {"paper": self.paper, "kd_alpha": KD_ALPHA, "kd_tau": KD_TAU, "max_grad_norm": self.max_grad_norm,
                **self.spike.record()}
