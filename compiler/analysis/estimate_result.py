"""What ``snnc.estimate`` returns: a typed :class:`Estimate` whose JSON is ``snnc estimate --json``.

Every figure that depends on the profile's uncertain constants is a
:class:`Span` (its low / nominal / high ends). ``to_json()`` gives the
document the command prints (``Estimate.from_json`` reads it back); indexing
``r["energy_j"]`` reads that document too, so code written against the dict
``estimate`` returned before keeps working.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Optional

from snnc.compiler.records import Record


@dataclass(frozen=True)
class Span(Record):
    """One figure at the low, nominal and high ends of the profile's constants (None: not modelled)."""
    low: Optional[float] = None
    nominal: Optional[float] = None
    high: Optional[float] = None
    ALWAYS = frozenset({"low", "nominal", "high"})

    @classmethod
    def of(cls, by_which: dict) -> "Span":
        """low / high are the min / max over the constants' ends, nominal the nominal one."""
        vals = [v for v in by_which.values() if v is not None]
        return cls(min(vals), by_which["nominal"], max(vals)) if vals else cls()


@dataclass(frozen=True)
class Estimate(Record, Mapping):
    """Resources, energy / latency / FPS / FPS/W ranges, per-layer breakdown and the ANN baseline of one
    compiled network on one profile (``snnc.compiler.analysis.estimate``)."""
    profile: str = ""
    profile_kind: str = ""
    profile_source: str = ""                # why this profile (as requested / the compile target / default)
    T: int = 0
    activity_source: str = ""
    profile_notes: Optional[list] = None
    counts: dict = field(default_factory=dict)        # sop, spikes, neuron updates, first-layer MACs, ...
    input_cost: dict = field(default_factory=dict)    # the first-layer convention and who chose it
    energy_j: Span = Span()
    latency_s: Span = Span()
    fps: Span = Span()
    fps_per_watt: Span = Span()
    breakdown_j: dict[str, Span] = field(default_factory=dict)   # input, sop, neuron, readout, relay, ...
    host_io: dict = field(default_factory=dict)
    per_layer: list = field(default_factory=list)     # {layer, sop, neuron, total, low, high, ...}
    included: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    sensitivity: list = field(default_factory=list)   # FPS/W with one constant at each end, widest first
    sop_only: Optional[dict] = None                   # the seed paper's SOPs x e_sop figure
    latency_note: Optional[str] = None
    confidence: list = field(default_factory=list)
    ann: Optional[dict] = None                        # the ANN baseline (None without an ANN profile)
    at_accuracy: dict = field(default_factory=dict)   # SOP90 / 95 / 99
    resources: dict = field(default_factory=dict)     # ``Mapping.to_json`` of the network on the profile

    @cached_property
    def _doc(self) -> dict:
        return self.to_json()

    def __getitem__(self, key: str):
        return self._doc[key]

    def __iter__(self):
        return iter(self._doc)

    def __len__(self) -> int:
        return len(self._doc)


Estimate.ALWAYS = frozenset(f.name for f in fields(Estimate)) - {"extra", "present"}   # every key, null or not
