"""The artifact's metadata as typed records (``artifact.json`` stays the file format).

``Artifact.info`` reads ``meta`` as an :class:`ArtifactMeta`; ``snnc compile``
builds one and stores ``to_json()``. Every record keeps the keys it does not
know (``extra``) and writes back exactly what it read (``snnc.compiler.records``),
so artifacts written before these types load and re-save unchanged, and so do
keys other parts add (``finetune``: the fine-tuning provenance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from snnc.compiler.records import Record


@dataclass(frozen=True)
class Source(Record):
    """Where the ANN came from: its file and the file's sha256 (None for an in-memory graph)."""
    path: Optional[str] = None
    sha256: Optional[str] = None
    ALWAYS = frozenset({"path", "sha256"})


@dataclass(frozen=True)
class Options(Record):
    """The compile options as given (``delay``: "auto" or D) and as resolved (``iters``, ``batch_size``)."""
    method: Optional[str] = None
    iters: Optional[int] = None
    batch_size: Optional[int] = None
    delay: Union[str, int, None] = None
    pool_mode: Optional[str] = None
    reset: Optional[str] = None
    tol: Optional[float] = None          # the convergence tolerance (when iters was not fixed)
    percentile: Optional[float] = None   # for the percentile methods
    neuron: Optional[str] = None         # sigma-delta only ("if" is the default and not written)
    act_bits: Optional[int] = None


@dataclass(frozen=True)
class LayerCalibration(Record):
    """One neuron layer's calibration: per-channel thresholds and the statistics behind them."""
    thresholds: Optional[list] = None          # theta per output channel (the clip of the clip-ANN)
    expected_rate: Optional[float] = None      # firing rate predicted from the activations (pre-run estimate)
    first_spike_steps: Optional[float] = None  # Eq. 19 estimate of the first spike
    neurons: Optional[int] = None
    channels: Optional[int] = None
    dead_channels: Optional[int] = None
    clipped: Optional[float] = None            # share of activations above their threshold
    threshold: Optional[dict] = None           # {min, median, max}
    activation_percentiles: Optional[dict] = None
    convergence: Optional[dict] = None


@dataclass(frozen=True)
class Calibration(Record):
    """The calibration record: the method that ran (``requested`` when auto chose it), its data and budget,
    the readout estimate t0 and one :class:`LayerCalibration` per neuron layer."""
    method: Optional[str] = None
    requested: Optional[str] = None
    data: Optional[str] = None
    samples: Optional[int] = None
    iters: Optional[int] = None
    batch_size: Optional[int] = None
    stats_samples: Optional[int] = None
    forwards_per_sample: Optional[float] = None
    percentile: Optional[float] = None   # p of the percentile methods
    t0: Optional[float] = None
    layers: Optional[dict[str, LayerCalibration]] = None
    candidates: Optional[dict] = None    # auto: each method's agreement on the held-back check data
    check: Optional[dict] = None         # the held-back check (agreement, accuracies)
    convergence: Optional[dict] = None
    warnings: Optional[list] = None

    def thresholds(self) -> dict:
        """{layer: thresholds} of every calibrated layer."""
        return {name: rec.thresholds for name, rec in (self.layers or {}).items() if rec.thresholds is not None}

    def expected_rates(self) -> dict:
        """{layer: expected firing rate} of every layer that has one."""
        return {name: rec.expected_rate for name, rec in (self.layers or {}).items()
                if rec.expected_rate is not None}


@dataclass(frozen=True)
class Readout(Record):
    """The readout window (``snnc.compiler.readout``): "auto" with the Eq. 19 estimate ``t0``, or "fixed" D."""
    mode: str = "auto"
    t0: Optional[float] = None
    delay: Optional[int] = None


@dataclass(frozen=True)
class Neurons(Record):
    """The neuron kind: "if" (binary spikes) or "sigma-delta" (graded spikes of ``payload_bits``)."""
    kind: str = "if"
    spike_bits: Optional[int] = None
    act_bits: Optional[int] = None
    payload_bits: Optional[int] = None
    vth_steps: Optional[int] = None
    quantiser: Optional[str] = None


@dataclass(frozen=True)
class PassRecord(Record):
    """One compiler pass and the changes it made (a pass's ``PassResult.changes``)."""
    name: str = ""
    changes: Optional[list] = None
    KEYS = {"name": "pass"}


@dataclass(frozen=True)
class ArtifactMeta(Record):
    """Everything ``artifact.json`` holds besides its format and version (``snnc.compiler.artifact``)."""
    target: Optional[str] = None
    source: Optional[Source] = None
    options: Optional[Options] = None
    preprocessing: Optional[dict] = None       # resize / crop / mean / std (``compiler/data/preprocess.py``)
    notes: Optional[list] = None               # the frontend's notes
    pass_log: Optional[list[Union[PassRecord, str]]] = None
    calibration: Optional[Calibration] = None
    readout: Optional[Readout] = None
    spike_comparison: Optional[str] = None     # ">=": a neuron fires when v >= theta
    pool_modes: Optional[dict] = None          # max-pool node -> "pre-neuron" / "cumulative"
    neurons: Optional[Neurons] = None
    snnc_version: Optional[str] = None
    resources: Optional[dict] = None           # ``analysis.resources.summary`` on the target
    deployment: Optional[dict] = None          # ``lower.Plan.summary`` (``compiler/lower/record.py``)

    @property
    def neuron_kind(self) -> str:
        return self.neurons.kind if self.neurons is not None else "if"

    @property
    def is_sigma_delta(self) -> bool:
        return self.neuron_kind == "sigma-delta"
