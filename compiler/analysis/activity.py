"""Activity of a spiking network run: the contract between simulators and the estimator.

A simulator (NumPy reference or Lava) or the calibration statistics (expected
rates, before any run) fill an :class:`Activity`; ``snnc estimate`` turns it into
energy, latency and FPS/W. All counts are *per sample* (mean over the samples
run) and per time step t = 1..T.

* ``sop_per_step[t]``: synaptic operations caused by this layer's spikes at
  step t: every spike times its exact fan-out into the consuming synaptic
  layers (algorithms.md section 7).
* ``spikes_per_step[t]``: spikes emitted by the layer at step t.
* ``payload_bits``: 1 for binary spikes; > 1 for graded spikes of that payload
  (a sigma-delta network: B + 1 bits), whose synaptic operations are
  multiply-accumulates (priced at ``energy.e_graded_op`` where the profile has it).
* ``first_layer_macs``: dense MACs of the direct-coded first layer *per step*
  (the analog input drives it every step); ``first_layer_convention`` says
  whether a report counts them every step ("per-step") or once per sample when
  the input is injected as a host-computed bias ("once"); see ``CONVENTIONS``.

A record read from a file (``Activity.load``) or handed to the estimator is
validated by :func:`check_activity`: format and version, T equal to the length
of every per-step list, finite non-negative counts (spikes per step at most the
layer's neurons), a known convention, accuracies in [0, 1]. Each problem is one
DataError naming the file and the field; ``snnc estimate`` also checks layer
names and neuron counts against the network.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Union

from snnc.compiler.errors import DataError, ModelLoadError
from snnc.compiler.files import input_path

FORMAT, VERSION = "snnc-activity", 1
CONVENTIONS = {   # how the dense first-layer MACs of the direct-coded input are charged
    "per-step": "dense first-layer MACs every step (the analog input drives the first layer on chip)",
    "once": "first-layer MACs once per sample (computed on the host, injected as a bias current)",
}


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
    payload_bits: int = 1           # 1: binary spikes; > 1: graded spikes (sigma-delta: B + 1), ops are MACs

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
        return {"format": FORMAT, "version": VERSION, **d}

    @staticmethod
    def from_json(d: dict, where: str = "activity record") -> "Activity":
        """Build and validate (DataError naming ``where`` and the field)."""
        def bad(f, msg):
            return DataError(f"{where}: {f}: {msg}")
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise bad("format", f"{got!r} is not {FORMAT!r}: not an snnc activity record (write one with "
                                "`snnc simulate --activity-out` or `snnc run --activity-out`)")
        if d.get("version") != VERSION:
            raise bad("version", f"{d.get('version')!r} is not supported (this snnc reads version {VERSION}); "
                                 "re-record it with this snnc")
        known = {f for f in Activity.__dataclass_fields__}
        d = {k: v for k, v in d.items() if k not in ("format", "version")}
        for f in sorted(set(d) - known):
            raise bad(f, f"unknown field; allowed: {sorted(known)}")
        for f in ("T", "samples", "source", "layers"):
            if f not in d:
                raise bad(f, "missing")
        if not isinstance(d["layers"], list):
            raise bad("layers", f"must be a list, got {type(d['layers']).__name__}")
        layers = []
        for i, l in enumerate(d["layers"]):
            fields = set(LayerActivity.__dataclass_fields__)
            if not isinstance(l, dict) or set(l) != fields:
                have = sorted(l) if isinstance(l, dict) else type(l).__name__
                raise bad(f"layers[{i}]", f"needs exactly the fields {sorted(fields)}, got {have}")
            layers.append(LayerActivity(**l))
        acc = d.get("accuracy", {})
        if not isinstance(acc, dict) or not all(str(k).isdigit() for k in acc):
            raise bad("accuracy", "must map time steps T (integers) to accuracies")
        d["accuracy"] = {int(k): v for k, v in acc.items()}
        return check_activity(Activity(**{**d, "layers": layers}), where)

    def save(self, path: Union[str, Path]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @staticmethod
    def load(path: Union[str, Path]) -> "Activity":
        p = input_path(path, "activity record")
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"{p}: cannot read activity record ({e})") from None
        return Activity.from_json(doc, str(p))


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v) -> bool:
    """A finite non-negative JSON number that fits a float (an int of 400 digits does not)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v)) and v >= 0
    except OverflowError:
        return False


def check_activity(act: Activity, where: str = "activity record") -> Activity:
    """Raise one DataError naming ``where`` and the first bad field; return ``act`` when it is sound."""
    def bad(f, msg):
        return DataError(f"{where}: {f}: {msg}")
    if not _count(act.T) or act.T < 1:
        raise bad("T", f"must be a positive integer, got {act.T!r}")
    for f in ("samples", "first_layer_macs", "output_neurons"):
        if not _count(getattr(act, f)):
            raise bad(f, f"must be a non-negative integer, got {getattr(act, f)!r}")
    if not _count(act.payload_bits) or act.payload_bits < 1:
        raise bad("payload_bits", f"must be a positive integer (1: binary spikes), got {act.payload_bits!r}")
    if act.first_layer_convention not in CONVENTIONS:
        raise bad("first_layer_convention", f"{act.first_layer_convention!r} is not one of {sorted(CONVENTIONS)}")
    if not isinstance(act.source, str):
        raise bad("source", f"must be a string, got {act.source!r}")
    for i, l in enumerate(act.layers):
        at = f"layers[{i}] ({l.name!r})"
        if not isinstance(l.name, str) or not l.name:
            raise bad(f"layers[{i}].name", f"must be a layer name, got {l.name!r}")
        if not _count(l.neurons) or l.neurons < 1:
            raise bad(f"{at}.neurons", f"must be a positive integer, got {l.neurons!r}")
        for f in ("spikes_per_step", "sop_per_step"):
            v = getattr(l, f)
            if not isinstance(v, list) or len(v) != act.T:
                n = len(v) if isinstance(v, list) else type(v).__name__
                raise bad(f"{at}.{f}", f"{n} values, but T = {act.T}: the record is truncated or inconsistent")
            t = next((t for t, x in enumerate(v) if not _number(x)), None)
            if t is not None:
                raise bad(f"{at}.{f}[{t}]", f"must be a finite non-negative count, got {str(v[t])[:30]}")
        t = next((t for t, x in enumerate(l.spikes_per_step) if x > l.neurons * (1 + 1e-9)), None)
        if t is not None:
            raise bad(f"{at}.spikes_per_step[{t}]", f"{l.spikes_per_step[t]} spikes per sample exceed the "
                                                    f"layer's {l.neurons} neurons (at most one spike per step)")
    for k, v in act.accuracy.items():
        if not _count(k) or k < 1 or not _number(v) or v > 1:
            raise bad(f"accuracy[{k}]", f"must map a positive T to an accuracy in [0, 1], got {v!r}")
    if act.ann_accuracy is not None and (not _number(act.ann_accuracy) or act.ann_accuracy > 1):
        raise bad("ann_accuracy", f"must be an accuracy in [0, 1] or null, got {act.ann_accuracy!r}")
    return act


def check_network(act: Activity, layers, where: str = "activity record") -> Activity:
    """Layer names and neuron counts of ``act`` equal the network's IFNeuron layers ``[(name, neurons)]``;
    with ``[(name, neurons, out_synapses)]`` no step has more SOPs than every neuron spiking once gives."""
    fan = {t[0]: t[2] for t in layers if len(t) > 2}
    want = {t[0]: t[1] for t in layers}
    got = {l.name: l.neurons for l in act.layers}
    if len(act.layers) != len(got):
        raise DataError(f"{where}: layers: a layer name appears twice; re-run `snnc simulate --activity-out`")
    if set(got) != set(want):
        extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        raise DataError(f"{where}: layers: names do not match the network's IFNeuron layers (in the record "
                        f"only: {extra or '-'}; in the network only: {missing or '-'}): it was recorded on "
                        "another network; re-run `snnc simulate --activity-out`")
    for name, n in got.items():
        if n != want[name]:
            raise DataError(f"{where}: layers ({name!r}).neurons: {n} in the record, {want[name]} in the network: "
                            "it was recorded on another network; re-run `snnc simulate --activity-out`")
    for l in act.layers:
        t = next((t for t, x in enumerate(l.sop_per_step) if l.name in fan and x > fan[l.name] * (1 + 1e-9)), None)
        if t is not None:
            raise DataError(f"{where}: layers ({l.name!r}).sop_per_step[{t}]: {l.sop_per_step[t]:g} SOPs per sample "
                            f"exceed the {fan[l.name]:,} the layer makes when every neuron spikes (at most one "
                            f"spike per neuron and step)")
    return act
