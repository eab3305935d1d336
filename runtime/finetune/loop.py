"""The training loop every method shares: batches, optimiser, progress, validation, checkpoints, early stop.

Per epoch e the batch order is ``default_rng([seed, e]).permutation(n)``; the
learning rate follows a cosine from ``lr`` to 0 over all steps of the run.
After every epoch the deployed network (the SNN at T, readout window) is
evaluated on the validation split; training stops after ``patience`` epochs
without improvement, and the best state (epoch 0 = the converted network
itself) is the result (``keep="last"``: the last state). A checkpoint is
written after every epoch and every
``checkpoint_every`` steps (``snnc.runtime.finetune.checkpoint``); with
``resume`` the run continues from it and ends with the same bytes as an
uninterrupted run.
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from snnc.compiler.progress import progress
from snnc.runtime.finetune import checkpoint
from snnc.runtime.finetune import net as simnet
from snnc.runtime.finetune.losses import accuracy_count, window_logits

EVAL_BATCH = 500


def make_optimizer(kind: str, params, lr: float):
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    if kind == "sgd-momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    return torch.optim.SGD(params, lr=lr)


@torch.no_grad()
def evaluate(net, x: np.ndarray, y: np.ndarray, T: int, delay: int) -> float:
    """Accuracy of the SNN at T steps (readout window from ``delay``) on (x, y)."""
    correct = 0
    for a in range(0, len(x), EVAL_BATCH):
        cur, _ = simnet.run_snn(net, x[a:a + EVAL_BATCH], T, simnet.heaviside)
        correct += accuracy_count(window_logits(cur, delay).cpu(), torch.as_tensor(y[a:a + EVAL_BATCH]))
    return correct / len(x)


class Loop:
    """One fine-tuning run of ``method`` on (train, valid); ``run()`` returns the history."""

    def __init__(self, method, cfg, train, valid, ckpt: Optional[Path], fingerprint: dict):
        self.m, self.cfg, self.train, self.valid = method, cfg, train, valid
        self.ckpt, self.fingerprint = ckpt, fingerprint
        self.nb = math.ceil(len(train) / cfg.batch_size)
        self.opt = make_optimizer(cfg.optimizer, [p for p in method.net.parameters() if p.requires_grad], cfg.lr)
        total = cfg.epochs * self.nb
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
        self.pos = {"epoch": 0, "batch": 0, "step": 0, "loss": 0.0, "correct": 0, "seen": 0, "bad": 0,
                    "seconds": 0.0, "stopped": False}
        self.history, self.best = [], None

    # -- state ------------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {"fingerprint": self.fingerprint, "net": self.m.net.state_dict(), "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict(), "method": self.m.state(), "pos": dict(self.pos),
                "history": list(self.history), "best": self.best}

    def _save(self) -> None:
        if self.ckpt is not None:
            checkpoint.save(self.ckpt, self._state())

    def restore(self, state: dict) -> None:
        self.m.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.m.load_state(state["method"])
        self.pos, self.history, self.best = dict(state["pos"]), list(state["history"]), state["best"]

    # -- running ----------------------------------------------------------------------------------
    def _validate(self, epoch: int, train_loss=None, train_acc=None) -> None:
        acc = evaluate(self.m.net, self.valid.x, self.valid.y, self.cfg.T, self.m.delay)
        self.history.append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                             "valid_accuracy": acc, "seconds": round(self.pos["seconds"], 3)})
        if self.best is None or acc > self.best["valid_accuracy"]:
            self.best = {"epoch": epoch, "valid_accuracy": acc, "net": copy.deepcopy(self.m.net.state_dict()),
                         "method": copy.deepcopy(self.m.state())}
            self.pos["bad"] = 0
        else:
            self.pos["bad"] += 1

    def run(self) -> list:
        if not self.history:
            self._validate(0)
        while self.pos["epoch"] < self.cfg.epochs and not self.pos["stopped"]:
            self._epoch()
        if self.cfg.keep == "best":
            self.m.net.load_state_dict(self.best["net"])
            self.m.load_state(self.best["method"])
        return self.history

    def _epoch(self) -> None:
        cfg, pos, e = self.cfg, self.pos, self.pos["epoch"]
        order = np.random.default_rng([cfg.seed, e]).permutation(len(self.train))
        bar = progress(total=self.nb, desc=f"{self.m.name} epoch {e + 1}/{cfg.epochs}", unit="batch")
        bar.update(pos["batch"])
        with bar:
            while pos["batch"] < self.nb:
                t = time.perf_counter()
                self._step(order[pos["batch"] * cfg.batch_size:(pos["batch"] + 1) * cfg.batch_size])
                pos["seconds"] += time.perf_counter() - t
                bar.update(1)
                bar.set_postfix(loss=f"{pos['loss'] / pos['seen']:.4f}", acc=f"{pos['correct'] / pos['seen']:.4f}",
                                **self.m.postfix())
                if cfg.checkpoint_every and pos["step"] % cfg.checkpoint_every == 0 and pos["batch"] < self.nb:
                    self._save()
        self._validate(e + 1, pos["loss"] / pos["seen"], pos["correct"] / pos["seen"])
        pos.update(epoch=e + 1, batch=0, loss=0.0, correct=0, seen=0)
        pos["stopped"] = pos["bad"] >= cfg.patience
        self._save()

    def _step(self, idx: np.ndarray) -> None:
        dev = next(self.m.net.parameters()).device
        x = torch.as_tensor(self.train.x[idx]).to(dev)
        y = torch.as_tensor(self.train.y[idx]).to(dev)
        loss, logits = self.m.loss(x, y, torch.as_tensor(idx).to(dev), self.pos["step"])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.m.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_([p for p in self.m.net.parameters() if p.grad is not None],
                                           self.m.max_grad_norm)
        self.opt.step()
        self.sched.step()
        self.m.after_step(self.pos["step"])
        n = len(idx)
        self.pos["loss"] += float(loss.detach()) * n
        self.pos["correct"] += accuracy_count(logits.detach(), y)
        self.pos["seen"] += n
        self.pos["batch"] += 1
        self.pos["step"] += 1
