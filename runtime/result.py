"""The result every backend returns: readouts per T, activity, accuracy, and what only one backend has.

``RunResult`` is neutral: the NumPy simulator (``SimResult`` is this class), the
Lava backend and any new backend build it; none builds on another's. Backend-
specific records go into ``details`` under the backend's name and read as an
attribute (``res.lava`` is the Lava run record; ``hasattr(res, "lava")`` is
False for other backends).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.analysis.activity import Activity


@dataclass
class RunResult:
    """Readouts for every requested T plus the activity of the largest."""

    T: tuple
    delays: dict                      # T -> readout delay D
    logits: dict                      # T -> (N, K) mean of I_L over t = D+1..T
    activity: Activity
    accuracy: dict = field(default_factory=dict)   # T -> accuracy (when labels were given)
    records: dict = field(default_factory=dict)    # "spikes": {layer: (T, N, *shape) bool}, "counts", "output"
    details: dict = field(default_factory=dict)    # backend name -> its own run record (e.g. "lava")

    @classmethod
    def scored(cls, Ts, delays: dict, logits: dict, activity: Activity, y=None, records=None) -> "RunResult":
        """The result of a run, with accuracy per T (also written into ``activity``) when labels ``y`` exist."""
        acc = {}
        if y is not None:
            y = np.asarray(y)
            acc = {t: float(np.mean(np.argmax(logits[t], axis=1) == y)) for t in Ts}
            activity.accuracy = dict(acc)
        return cls(Ts, dict(delays), {t: logits[t] for t in Ts}, activity, acc, records if records is not None else {})

    def predictions(self, T: int) -> np.ndarray:
        return np.argmax(self.logits[T], axis=1)

    def firing_rates(self) -> dict:
        return {l.name: l.firing_rate for l in self.activity.layers}

    def __getattr__(self, name: str):
        details = self.__dict__.get("details", {})
        if name in details:
            return details[name]
        raise AttributeError(f"{type(self).__name__} has no {name!r} (backend records: {sorted(details)})")
