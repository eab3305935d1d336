"""Fine-tuning a converted network at small T: ``finetune(artifact, train, valid, config)``.

Three methods of the papers this project is built from, one module each,
registered in ``METHODS`` (docs/algorithms.md, "Fine-tuning", states every
deviation):

=========  ==========================================================================
idsnn      BPTT with the STBP surrogate and distillation from the ANN (``idsnn``)
snn2ann    a weight-shared ANN branch fed the SNN's spike counts, ATA (``snn2ann``)
pipe-s     sharpened-ReLU SANN stage, then BPTT of the SNN (``pipe_s``)
=========  ==========================================================================

All train the artifact's folded IF network in the torch simulator
(``snnc.runtime.torch_sim``) and return an ordinary artifact
(``writeback.tuned_artifact``). The shared loop (``loop``) gives progress,
validation, early stopping, checkpoints and exact resumption; fixed seeds give
the same artifact bytes (no times or paths in it).
"""
from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path
from typing import Optional


from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import UsageError
from snnc.compiler.readout import window_delays
from snnc.runtime.finetune.config import DEFAULTS, FinetuneConfig

__all__ = ["finetune", "FinetuneConfig", "METHODS", "check_T"]

# method -> (module, class); imported on use (torch)
METHODS = {"idsnn": ("snnc.runtime.finetune.idsnn", "IDSNN"),
           "snn2ann": ("snnc.runtime.finetune.snn2ann", "SNN2ANN"),
           "pipe-s": ("snnc.runtime.finetune.pipe_s", "PipeS")}
assert set(METHODS) == set(DEFAULTS)
STATS_SAMPLES = 512


def check_T(art: Artifact, T: int) -> int:
    """The readout delay D for T; UsageError when T leaves the artifact's readout window no step."""
    readout = art.meta.get("readout") or {}
    if readout.get("mode") == "fixed" and int(readout.get("delay", 0)) >= T:
        raise UsageError(f"--T {T} is below the artifact's readout window: its fixed readout delay "
                         f"D = {readout['delay']} leaves no step to average; use --T > {readout['delay']} or "
                         f"recompile with a smaller --delay")
    return window_delays([T], readout, warn=False)[T]


def _method_class(name: str):
    import importlib
    mod, cls = METHODS[name]
    return getattr(importlib.import_module(mod), cls)


@contextlib.contextmanager
def _threads(n: Optional[int]):
    import torch
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def finetune(art: Artifact, train, valid, cfg: FinetuneConfig, *, teacher=None, teacher_name: str = "",
             checkpoint: Optional[Path] = None, resume: bool = False, device: str = "cpu",
             threads: Optional[int] = None) -> tuple[Artifact, dict]:
    """Fine-tune ``art`` on ``train`` (labelled ``Dataset``), validating on ``valid``.

    ``teacher``: the IDSNN teacher graph (default: the artifact's ANN). Returns
    (tuned artifact, report with the history and the training time)."""
    import torch
    from snnc.runtime.finetune import net as simnet
    from snnc.runtime.finetune.loop import Loop
    from snnc.runtime.finetune.teacher import teacher_logits
    from snnc.runtime.finetune.writeback import tuned_artifact

    cfg = cfg.resolved()
    delay = check_T(art, cfg.T)
    checkpoint = None if checkpoint is None else Path(checkpoint)
    if checkpoint is not None and checkpoint.exists() and not resume:
        raise UsageError(f"{checkpoint} exists (an earlier run's checkpoint): pass --resume to continue it, "
                         f"or delete it to start over")
    t_start = time.perf_counter()
    with _threads(threads):
        torch.manual_seed(cfg.seed)
        net = simnet.build(art.snn, device)
        cls = _method_class(cfg.method)
        t_logits = None
        if cls.needs_teacher:
            teacher = art.ann if teacher is None else teacher
            teacher_name = teacher_name or "the artifact's source ANN"
            t_logits = torch.as_tensor(teacher_logits(teacher, train.x)).to(net.device)
        nb = -(-len(train) // cfg.batch_size)
        method = cls(net, art.snn, cfg.T, delay, cfg.epochs * nb, t_logits)
        fingerprint = {"artifact_sha256": hashlib.sha256(art.to_bytes()).hexdigest(), "train": train.name,
                       "train_samples": len(train), "valid": valid.name, "valid_samples": len(valid),
                       "teacher": teacher_name if cls.needs_teacher else None,
                       **{f"config.{k}": v for k, v in cfg.record().items()}}
        loop = Loop(method, cfg, train, valid, checkpoint, fingerprint)
        if resume and checkpoint is not None:
            from snnc.runtime.finetune import checkpoint as ckpt
            state = ckpt.load(checkpoint, fingerprint)
            if state is not None:
                loop.restore(state)
        history = loop.run()
        graph = net.to_graph()
    hist = [{k: v for k, v in h.items() if k != "seconds"} for h in history]
    record = {"method": cfg.method, **cfg.record(), "epochs_run": loop.pos["epoch"],
              "data": {"train": train.name, "train_samples": len(train), "valid": valid.name,
                       "valid_samples": len(valid)},
              "teacher": teacher_name if cls.needs_teacher else None, "method_parameters": method.record(),
              "readout_delay": delay, "history": hist, "best_epoch": loop.best["epoch"],
              "kept_epoch": loop.best["epoch"] if cfg.keep == "best" else loop.pos["epoch"],
              "valid_accuracy": loop.best["valid_accuracy"] if cfg.keep == "best" else history[-1]["valid_accuracy"],
              "valid_accuracy_converted": history[0]["valid_accuracy"],
              "early_stopped": bool(loop.pos["stopped"] and loop.pos["epoch"] < cfg.epochs)}
    tuned = tuned_artifact(art, graph, train.x[:STATS_SAMPLES], record)
    report = {**tuned.meta["finetune"], "train_seconds": loop.pos["seconds"], "wall_seconds": time.perf_counter() - t_start,
              "history_seconds": [h["seconds"] for h in history]}
    return tuned, report


def remove_checkpoint(path: Optional[Path]) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()
