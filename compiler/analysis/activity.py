"""Activity of a spiking network run: the contract between simulators and the estimator.

A simulator (NumPy reference or Lava) or the calibration statistics (expected
rates, before any run) fill an :class:`Activity`; ``snnc estimate`` turns it into
energy, latency and FPS/W. All counts are *per sample* (mean over the samples
run) and per time step t = 1..T.

* ``sop_per_step[t]``: synaptic operations caused by this layer's spikes at
  step t: every spike times its exact fan-out into the consuming synaptic
  layers (algorithms.md section 7).
* ``spikes_per_step[t]``: spikes emitted by the layer at step t.
* ``first_layer_macs``: dense MACs of the direct-coded first layer *per step*
  (the analog input drives it every step); ``first_layer_convention`` says
  whether a report counts them every step ("per-step") or once per sample when
  the input is injected as a host-computed bias ("once").
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Union

from snnc.compiler.errors import ModelLoadError


@dataclass
class LayerActivity:
    name: str                       # IFNeuron node name
    neurons: int
    spikes_per_step: list[float]    # length T
    sop_per_step: list[float]       # length T

    @property
    def firing_rate(self) -> float:
        """Mean spikes per neuron per step."""
        T = len(self.spikes_per_step)
        return sum(self.spikes_per_step) / (self.neurons * T) if T and self.neurons else 0.0


@dataclass
class Activity:
    T: int
    samples: int
    source: str                     # "numpy", "lava", "lava-fixed", "calibration-estimate"
    layers: list[LayerActivity]
    first_layer_macs: int = 0
    first_layer_convention: str = "per-step"
    output_neurons: int = 0         # readout accumulator size (updated every step)
    accuracy: dict = field(default_factory=dict)   # {T: accuracy in [0, 1]} from a sweep
    ann_accuracy: Optional[float] = None

    @property
    def sop(self) -> float:
        """Synaptic operations per sample over all T steps."""
        return float(sum(sum(l.sop_per_step) for l in self.layers))

    @property
    def neuron_updates(self) -> int:
        return (sum(l.neurons for l in self.layers) + self.output_neurons) * self.T

    def to_json(self) -> dict:
        d = asdict(self)
        d["accuracy"] = {str(k): v for k, v in self.accuracy.items()}
        return {"format": "snnc-activity", "version": 1, **d}

    @staticmethod
    def from_json(d: dict) -> "Activity":
        if d.get("format") != "snnc-activity":
            raise ModelLoadError("not an snnc activity record (expected format 'snnc-activity')")
        d = {k: v for k, v in d.items() if k not in ("format", "version")}
        d["layers"] = [LayerActivity(**l) for l in d["layers"]]
        d["accuracy"] = {int(k): v for k, v in d.get("accuracy", {}).items()}
        return Activity(**d)

    def save(self, path: Union[str, Path]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @staticmethod
    def load(path: Union[str, Path]) -> "Activity":
        p = Path(path)
        try:
            return Activity.from_json(json.loads(p.read_text()))
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ModelLoadError(f"{p}: cannot read activity record ({e})") from None
