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
"""
from __future__ import annotations

import logging
import math
from typing import Iterable, Optional

log = logging.getLogger(__name__)
AUTO_MIN_WINDOW = 4   # steps an auto delay always leaves in the window (when T > 4)


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
