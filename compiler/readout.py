"""The readout window: one rule for every backend (algorithms.md section 6).

For T steps the prediction is ``argmax mean_{t=D+1..T} I_L(t)``, with the delay D
chosen by one of two modes:

* ``auto`` (the default): D = clamp(floor(t0), 0, T - 4), t0 the Eq. 19 estimate of
  the output layer's first-spike time. It is an estimate, so it never takes more
  than T - 4 steps from the window (for T <= 4, D = 0).
* ``fixed`` (``snnc compile --delay N`` stored in the artifact, or ``snnc
  simulate / run --delay N``): the user's D is honoured as long as the window
  keeps at least one step, D = min(N, T - 1); a clamped D is logged as a warning
  naming the T it affects. A delay given at simulate / run time overrides the
  artifact's readout.

``parse_T`` and ``parse_delay`` are the one check of the time-step and delay
options, whoever passes them (``snnc compile / simulate / run``, ``snnc.compile``,
every backend's ``run``).
"""
from __future__ import annotations

import logging
import math
import numbers
from typing import Iterable, Optional

from snnc.compiler.errors import UsageError

log = logging.getLogger(__name__)
AUTO_MIN_WINDOW = 4   # steps an auto delay always leaves in the window (when T > 4)


def parse_T(T) -> tuple[int, ...]:
    """Sorted unique positive step counts from an int, a sequence of ints or a comma-separated string
    (``"8,16,32"``, as ``--T`` takes them); UsageError otherwise."""
    if isinstance(T, str):
        try:
            Ts = [int(t) for t in T.split(",") if t.strip()]
        except ValueError:
            Ts = [0]
    else:
        Ts = [T] if _is_int(T) or not hasattr(T, "__iter__") else list(T)
    if not Ts or any(not _is_int(t) or t <= 0 for t in Ts):
        raise UsageError(f"time steps T (--T) must be positive integers, comma-separated on the command line "
                         f"(such as 8,16,32), got {T!r}")
    return tuple(sorted({int(t) for t in Ts}))


def parse_delay(delay) -> Optional[int]:
    """The readout delay option: None for None / ``"auto"`` (the artifact's readout window), else D, a
    non-negative integer given as an int or its decimal string; UsageError otherwise."""
    if delay is None or (isinstance(delay, str) and delay.strip() == "auto"):
        return None
    d = int(delay) if _is_int(delay) else int(delay.strip()) if isinstance(delay, str) and \
        delay.strip().isdigit() else -1
    if d < 0:
        raise UsageError(f"delay (--delay) must be 'auto' or a non-negative integer, got {delay!r}")
    return d


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def auto_delay(t0: float, T: int) -> int:
    """D = clamp(floor(t0), 0, T - 4); 0 when T <= 4."""
    return max(0, min(int(math.floor(t0)), T - AUTO_MIN_WINDOW))


def fixed_delay(d: int, T: int) -> int:
    """D = min(d, T - 1): a user-given delay, clamped so the window keeps one step."""
    return max(0, min(int(d), T - 1))


def window_delays(Ts: Iterable[int], readout: Optional[dict] = None, delay: Optional[int] = None,
                  warn: bool = True) -> dict:
    """{T: D} for every T: a user ``delay`` wins over the artifact's ``readout`` meta
    ({"mode": "auto", "t0": ...} or {"mode": "fixed", "delay": N}); neither gives D = 0.
    A fixed delay clamped to T - 1 is logged once (when ``warn``)."""
    Ts = list(Ts)
    if delay is None and readout is not None and readout.get("mode") == "auto":
        return {T: auto_delay(float(readout.get("t0", 0.0)), T) for T in Ts}
    d = int(delay if delay is not None else (readout or {}).get("delay", 0))
    clamped = [T for T in Ts if d > T - 1]
    if clamped and warn:
        src = "--delay" if delay is not None else "the artifact's fixed readout delay"
        log.warning("%s %d leaves no step to average at T=%s: clamped to D = T - 1 there (the last step only)",
                    src, d, ", ".join(map(str, clamped)))
    return {T: fixed_delay(d, T) for T in Ts}
