"""Streaming many samples through one Lava run: the time-step bookkeeping.

Samples s = 0..n-1 follow each other, T steps each. A process at pipeline
depth d (the number of Dense/Conv synapses between the host input and it; each
adds one step of latency) sees step tau = 0..T-1 of sample s at the Lava time
step (1-based)

    t = s * T + tau + d + 1

so it starts a new sample (and resets its state) when (t - d - 1) % T == 0.
Outside 0 <= s < n a process is idle: it neither integrates nor emits.
"""
from __future__ import annotations


def window(time_step: int, depth: int, T: int, n: int) -> tuple[int, int]:
    """(sample index, local step tau) at Lava ``time_step``; sample -1 when idle."""
    s, tau = divmod(time_step - depth - 1, T)
    return (s if 0 <= s < n else -1), tau


def total_steps(n: int, T: int, max_depth: int) -> int:
    """Lava steps needed to stream n samples through a pipeline of ``max_depth``."""
    return n * T + max_depth
