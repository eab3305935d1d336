"""Pre-run activity from calibration statistics (before any simulation).

For every IFNeuron layer l with calibrated expected rate r_l (the mean of
clip(z, 0, theta) / theta over its neurons on the calibration data, stored in
``artifact.meta["calibration"]["layers"][l]["expected_rate"]``), each step::

    spikes_l(t) = r_l * N_l
    SOP_l(t)    = r_l * (synapses driven by layer l's neurons)   (expected rate x fan-out)

plus the first-layer input events every step (direct coding: the input-driven
synapses, zero-padding taps excluded) and the readout's
N_out accumulator updates. This is a *pre-run estimate from calibration
statistics*: it assumes the steady-state rate from step 1 (no warm-up) and
uniform rates within a layer.
"""
from __future__ import annotations

from typing import Optional

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.analysis.resources import count_layers, first_layer_synapses
from snnc.compiler.errors import DataError

LABEL = "pre-run estimate from calibration statistics"
SOURCE = "calibration-estimate"


def calibration_rates(artifact) -> dict:
    """{layer: expected firing rate} from the artifact's calibration record."""
    cal = artifact.info.calibration
    return cal.expected_rates() if cal is not None else {}


def expected_activity(artifact, T: int, layers: Optional[list] = None) -> Activity:
    """An :class:`Activity` of ``T`` steps from the artifact's calibration statistics."""
    if T < 1:
        raise DataError(f"T must be >= 1, got {T}")
    rates = calibration_rates(artifact)
    layers = layers if layers is not None else count_layers(artifact.snn)
    neurons = [l for l in layers if l.kind == "neuron"]
    missing = [l.name for l in neurons if l.name not in rates]
    if missing:
        raise DataError(f"the artifact has no calibrated expected_rate for layer(s) {missing}; "
                        "recompile it with `snnc compile` or pass a simulation record with --activity run.json")
    out = []
    for l in neurons:
        r = float(rates[l.name])
        if not 0.0 <= r <= 1.0:
            raise DataError(f"layer {l.name!r}: calibrated expected_rate {r} is not in [0, 1]")
        out.append(LayerActivity(l.name, l.neurons, [r * l.neurons] * T, [r * l.out_synapses] * T))
    readout = sum(l.neurons for l in layers if l.kind == "readout")
    return Activity(T=T, samples=0, source=SOURCE, layers=out, first_layer_macs=first_layer_synapses(artifact.snn),
                    first_layer_convention="per-step", output_neurons=readout)


def truncate(activity: Activity, T: int) -> Activity:
    """The first ``T`` steps of a run (SOP at a smaller T = the per-step SOPs summed to T)."""
    if not 1 <= T <= activity.T:
        raise DataError(f"cannot take T={T} steps from an activity record of {activity.T} steps")
    layers = [LayerActivity(l.name, l.neurons, l.spikes_per_step[:T], l.sop_per_step[:T]) for l in activity.layers]
    return Activity(T=T, samples=activity.samples, source=activity.source, layers=layers,
                    first_layer_macs=activity.first_layer_macs,
                    first_layer_convention=activity.first_layer_convention,
                    output_neurons=activity.output_neurons, accuracy=dict(activity.accuracy),
                    ann_accuracy=activity.ann_accuracy, payload_bits=activity.payload_bits)
