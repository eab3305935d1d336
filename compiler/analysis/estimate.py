"""``snnc.estimate``: resources, energy, latency, FPS and FPS/W of a compiled network on a profile.

Activity comes from a simulation record (an :class:`Activity`, e.g. ``snnc
simulate --activity-out run.json``) or, before any run, from the calibration
statistics (:mod:`snnc.compiler.analysis.expected`, labelled "pre-run
estimate from calibration statistics"). Every figure is given at the low,
nominal and high ends of the profile's constant ranges (see
:mod:`snnc.compiler.analysis.energy` for the model). The ANN baseline is the
source ANN's MACs x e_mac of an ANN profile. With an accuracy sweep
(``Activity.accuracy`` {T: acc} and ``ann_accuracy``), SOP90 / SOP95 are the
SOPs per sample at the first T reaching 90% / 95% of the ANN's accuracy (or,
when not reached, the sweep's best accuracy and its T).

The profile defaults to the artifact's compile target. The first-layer
input events of the direct-coded input (under "per-step": the input-driven
ops' synapses, zero-padding taps excluded as for every other layer's SOPs;
``counts.first_layer_macs_with_padding`` gives the ANN's MAC count) are charged
per the activity's convention
(``activity.CONVENTIONS``: "per-step", every step, or "once" per sample when
the host computes the first layer and injects it as a bias current), or per
``input_cost``; the report says which.

A layer whose fan-in is split into partial sums relayed as graded spikes
(:mod:`snnc.compiler.hardware.fanin`) is charged its relays' graded events and
compartment updates every step (in its SOP / neuron terms; ``breakdown_j.relay``,
``counts.graded_relay_events``); its +1 pipeline step is listed as not included,
since the latency model has no pipeline depth.
"""
from __future__ import annotations

import logging

import numpy as np
from dataclasses import replace
from pathlib import Path
from typing import Optional, Union

from snnc.compiler.analysis import energy as en
from snnc.compiler.analysis.activity import CONVENTIONS, Activity, check_activity, check_network
from snnc.compiler.analysis.estimate_result import Estimate, Span
from snnc.compiler.analysis.expected import LABEL, SOURCE, expected_activity, truncate
from snnc.compiler.analysis.resources import Mapping, check_fit, first_layer_macs, first_layer_synapses, map_graph
from snnc.compiler.artifact import Artifact, load
from snnc.compiler.errors import HardwareError, UsageError
from snnc.compiler.hardware import DEFAULT_PROFILE, WHICH, Profile, load_profile
from snnc.compiler.readout import parse_T

log = logging.getLogger(__name__)
DEFAULT_T = 32
DEFAULT_ANN_PROFILE = "seed-generic"
INCLUDED = ["on-chip dynamic energy: synaptic ops, neuron updates (active / idle), first-layer input MACs "
            "(per the input-cost convention)",
            "static chip power over the latency, per occupied chip (unused chips of a board power-gated / not "
            "counted; unused cores of an occupied chip are in the chip's static power)"]
EXCLUDED = ["off-chip memory", "energy of the ANN baseline's memory accesses (arithmetic only)"]
IO_BYTES_PER_VALUE = 1   # 8-bit input values, as Lava's input encoders send them


def _terms(prof: Profile, host_io: bool) -> tuple[list, list]:
    """(included, excluded) lines for the optional terms of the profile (routing, step overhead, host I/O)."""
    inc, exc = [], []
    (inc if prof.has("energy.e_hop") else exc).append("spike routing energy on the mesh (e_hop x hops x messages)")
    if prof.has("energy.e_core_step"):
        inc.append("per-step cost of every occupied core beyond its counted events (e_core_step x cores x T)")
    if prof.has("timing.t_step_overhead"):
        inc.append("per-step runtime management / synchronisation overhead (timing.t_step_overhead)")
    if host_io:
        inc.append("host I/O time (input bytes x timing.t_io_byte) in the latency, with static power over it; "
                   "host CPU energy not modelled")
    else:
        exc.append("host I/O (input injection, output readback, host CPU): include its time with --host-io")
    return inc, exc


def input_bytes(art: Artifact, act: Activity) -> float:
    """Bytes of input per inference: the graph inputs' values at 1 byte, every step or once per the convention."""
    per_step = sum(int(np.prod(i.shape)) for i in art.snn.inputs) * IO_BYTES_PER_VALUE
    return float(per_step * len(en.input_steps(act)))


def _ranged(fn) -> dict:
    return {w: fn(w) for w in WHICH}


def _span(by_which: dict) -> dict:
    """{low, nominal, high} of one figure inside a JSON part of the estimate (``Span.of``'s rule)."""
    return Span.of(by_which).to_json()


def _activity(art: Artifact, mapping: Mapping, activity, T: Optional[int], input_cost: Optional[str]) -> Activity:
    """The activity to estimate: a validated record (names and neuron counts equal to the network's) or the
    pre-run estimate; truncated to ``T``; the first-layer convention replaced by ``input_cost`` if given."""
    T = None if T is None else parse_T([T])[0]   # a positive integer (UsageError otherwise), as --T
    if activity is None and art.info.is_sigma_delta:
        raise UsageError("a sigma-delta network has no pre-run activity estimate (its graded spikes follow the "
                         "data, not the calibrated rates): simulate it first (`snnc simulate --activity-out "
                         "run.json`) and pass the record (`snnc estimate --activity run.json`)")
    if activity is None:
        act = expected_activity(art, T or DEFAULT_T, mapping.layers)
    else:
        where = "activity record" if isinstance(activity, Activity) else str(activity)
        act = check_activity(activity, where) if isinstance(activity, Activity) else Activity.load(activity)
        check_network(act, [(l.name, l.neurons, l.out_synapses) for l in mapping.layers if l.kind == "neuron"],
                      where)
        act = truncate(act, T) if T else act
    if input_cost is not None:
        if input_cost not in CONVENTIONS:
            raise UsageError(f"input cost {input_cost!r} is not one of {sorted(CONVENTIONS)}")
        act = replace(act, first_layer_convention=input_cost)
    if act.first_layer_convention == "per-step":   # on chip: synaptic events, zero-padding taps send none
        act = replace(act, first_layer_macs=first_layer_synapses(art.snn))
    return act


def check_graded_profile(art: Artifact, prof: Profile) -> None:
    """A sigma-delta artifact runs only where graded spikes carry its payload (act_bits + 1 bits):
    HardwareError naming the profile otherwise, as ``snnc compile --neuron sigma-delta`` refuses such targets."""
    rec = art.info.neurons
    if rec is None or rec.kind != "sigma-delta":
        return
    payload = prof.limit("graded_spike_bits") or 0
    if payload < rec.payload_bits:
        have = "has no graded spikes" if payload == 0 else f"carries graded payloads of at most {payload} bits"
        raise HardwareError(f"the artifact is a sigma-delta network ({rec.act_bits}-bit activations, "
                            f"{rec.payload_bits}-bit graded payload) but profile {prof.name!r} {have} "
                            f"(limits.graded_spike_bits = {payload}): estimate it on a profile with graded "
                            f"spikes such as loihi2, or compile the model with --neuron if for {prof.name!r}")


def _at_accuracy(act: Activity, profile: Profile, mapping: Mapping, art: Artifact, host_io: bool) -> dict:
    """SOP90 / SOP95 / SOP99 and FPS/W at the first T reaching 90% / 95% / 99% of the ANN accuracy; when a level is not
    reached, the best accuracy of the sweep and its T (``best``)."""
    if not act.accuracy or act.ann_accuracy is None:
        return {}
    out = {}
    best_T = max(sorted(act.accuracy), key=lambda t: act.accuracy[t])
    best = {"T": best_T, "accuracy": act.accuracy[best_T],
            "of_ann": act.accuracy[best_T] / act.ann_accuracy if act.ann_accuracy else None}
    for frac in (0.90, 0.95, 0.99):
        hits = sorted(t for t, a in act.accuracy.items() if a >= frac * act.ann_accuracy)
        key = f"{round(frac * 100)}"
        if not hits:
            out[key] = {"reached": False, "target": frac * act.ann_accuracy, "best": best}
        elif hits[0] > act.T:
            out[key] = {"reached": True, "T": hits[0], "note": f"T={hits[0]} is beyond the {act.T} recorded steps"}
        else:
            a = truncate(act, hits[0])
            io = input_bytes(art, a) if host_io else None
            figs = _ranged(lambda w: en.snn_energy(a, profile, mapping, w, io))
            out[key] = {"reached": True, "T": hits[0], "accuracy": act.accuracy[hits[0]], "sop": a.sop,
                        "energy_j": _span({w: f["total"] for w, f in figs.items()}),
                        "latency_s": _span({w: f["latency"] for w, f in figs.items()}),
                        "fps_per_watt": _span({w: f["fps_per_watt"] for w, f in figs.items()}),
                        "sop_only": en.sop_energy(a.sop, profile)}
    return out


def graded_counts(act: Activity) -> dict:
    """Sigma-delta traffic: payload bits, graded spikes (messages leaving neurons) and their payload bits in
    total, graded synaptic ops (multiply-accumulates); {} for binary spikes."""
    if act.payload_bits <= 1:
        return {}
    spikes = sum(sum(l.spikes_per_step) for l in act.layers)
    return {"payload_bits": act.payload_bits, "graded_spikes": spikes, "graded_ops": act.sop,
            "payload_bits_sent": spikes * act.payload_bits}


def _ann(art: Artifact, ann_profile) -> Optional[dict]:
    if ann_profile is None:
        return None
    p = load_profile(ann_profile)
    if not p.is_ann:
        raise HardwareError(f"profile {p.name!r} has no ANN MAC energy (energy.e_mac); "
                            "choose an ANN profile such as cmos45 or seed-generic")
    macs = art.ann.macs()
    res = _ranged(lambda w: en.ann_energy(macs, p, w))
    return {"profile": p.name, "macs": macs, "energy_j": _span({w: r["energy"] for w, r in res.items()}),
            "fps_per_watt": _span({w: r["fps_per_watt"] for w, r in res.items()}),
            "included": "MACs x e_mac (arithmetic only, no memory access, no static power)"}


def _splits(mapping: Mapping) -> tuple[list, list]:
    """(included, excluded) lines for the mapping's fan-in splits (partial sums relayed as graded spikes)."""
    splits = [l for l in mapping.layers if l.split]
    if not splits:
        return [], []
    names = ", ".join(f"{l.name} k={l.split.k}" for l in splits)
    return ([f"fan-in split relays ({names}): k graded spikes per neuron every step into the integrating "
             "neurons (at e_sop each) and the k relay compartments' updates every step (at e_nu_active)"],
            [f"the +{mapping.extra_steps} pipeline step(s) of the fan-in splits: the latency is T x t_step, "
             "with no pipeline depth modelled"])


def _pool_note(mapping: Mapping) -> list:
    pools = [p for p in mapping.pools if not p.static]
    return [f"max pools over currents ({', '.join(f'{p.name} {p.mode}' for p in pools)}): host / x86 or a "
            "custom process"] if pools else []


def target_profile(art: Artifact, profile=None) -> tuple:
    """(profile name / path / Profile, why): ``profile`` if given, else the artifact's compile target, else
    the default (loihi2)."""
    if profile is not None:
        return profile, "as requested"
    if art.info.target:
        return art.info.target, "the artifact's compile target"
    return DEFAULT_PROFILE, f"default ({DEFAULT_PROFILE}: the artifact names no compile target)"


def _counts(act: Activity, art: Artifact, mapping) -> dict:
    """Event counts of the estimate: SOPs, spikes, neuron updates, first-layer MACs, graded relays."""
    return {"sop": act.sop, "spikes": sum(sum(l.spikes_per_step) for l in act.layers),
            "neuron_updates": act.neuron_updates, "first_layer_macs_per_step": act.first_layer_macs,
            "first_layer_macs_with_padding": first_layer_macs(art.snn),
            "first_layer_convention": act.first_layer_convention, "input_macs": en.input_macs(act),
            "graded_relay_events": sum(e for e, _ in en.relay_events(act, mapping).values()),
            **graded_counts(act)}


def _fitted(art: Artifact, prof: Profile, ignore_fit: bool) -> Mapping:
    """The network mapped onto ``prof``, its warnings logged; HardwareError when it does not fit, unless
    ``ignore_fit`` (then its errors are logged too)."""
    mapping = map_graph(art.snn, prof)
    for w in mapping.issues if ignore_fit else (i for i in mapping.issues if i.level == "warning"):
        log.warning(w.message)
    return mapping if ignore_fit else check_fit(mapping)


def estimate(artifact: Union[Artifact, str, Path], profile: Union[str, Profile, None] = None,
             activity: Union[Activity, str, Path, None] = None, T: Optional[int] = None,
             ann_profile: Union[str, Profile, None] = DEFAULT_ANN_PROFILE, ignore_fit: bool = False,
             input_cost: Optional[str] = None, host_io: bool = False) -> Estimate:
    """Resources, energy / FPS/W ranges, per-layer breakdown, ANN baseline: an :class:`Estimate` (``--json``).

    ``profile`` None: the artifact's compile target (``meta["target"]``), else loihi2.
    ``input_cost`` None: the activity's own first-layer convention (NumPy and the
    pre-run estimate "per-step", Lava "once"); "per-step" or "once" overrides it
    (``activity.CONVENTIONS``). A network that does not fit the profile raises
    HardwareError, unless ``ignore_fit``: then the failing layers count as
    ceil(neurons / neurons_per_core) cores (a lower bound) and the report says it does not fit.
    ``host_io``: include the host I/O time (input bytes x ``timing.t_io_byte``) in the latency.
    """
    art = artifact if isinstance(artifact, Artifact) else load(artifact)
    profile, profile_why = target_profile(art, profile)
    prof = load_profile(profile)
    check_graded_profile(art, prof)
    mapping = _fitted(art, prof, ignore_fit)
    act = _activity(art, mapping, activity, T, input_cost)
    io = input_bytes(art, act) if host_io else None
    figs = _ranged(lambda w: en.snn_energy(act, prof, mapping, w, io))
    nominal = figs["nominal"]
    per_layer = [{"layer": name, **v, **{k: x for k, x in _span({w: f["per_layer"][name]["total"]
                                                                 for w, f in figs.items()}).items() if k != "nominal"}}
                 for name, v in nominal["per_layer"].items()]
    conv = act.first_layer_convention
    split_in, split_out = _splits(mapping)
    terms = _terms(prof, host_io)
    return Estimate(
        profile=prof.name, profile_kind=prof.kind, profile_source=profile_why, T=act.T,
        activity_source=LABEL if act.source == SOURCE else f"simulation ({act.source}, {act.samples} samples)",
        profile_notes=prof.notes,
        counts=_counts(act, art, mapping),
        input_cost={"convention": conv, "meaning": CONVENTIONS[conv],
                    "chosen_by": "--input-cost" if input_cost is not None else "the activity"},
        energy_j=Span.of({w: f["total"] for w, f in figs.items()}),
        latency_s=Span.of({w: f["latency"] for w, f in figs.items()}),
        fps=Span.of({w: f["fps"] for w, f in figs.items()}),
        fps_per_watt=Span.of({w: f["fps_per_watt"] for w, f in figs.items()}),
        breakdown_j={k: Span.of({w: f[k] for w, f in figs.items()})
                     for k in ("input", "sop", "neuron", "readout", "relay", "routing", "core", "static",
                                   "dynamic")},
        host_io={"included": host_io, "input_bytes": io,
                 "latency_s": _span({w: f["host_io"] for w, f in figs.items()}) if host_io else None},
        per_layer=per_layer,
        included=(INCLUDED if prof.has("power.p_static_chip") else INCLUDED[:1]) + split_in + terms[0],
        excluded=EXCLUDED + terms[1] + _pool_note(mapping) + split_out
                 + ([] if prof.has("power.p_static_chip") else ["static power (profile has none)"]),
        sensitivity=en.sensitivity(act, prof, mapping, io),
        sop_only=en.sop_energy(act.sop, prof),
        latency_note=None if nominal["latency"] is not None else "profile has no timing model: latency and FPS not estimated",
        confidence=sorted({c.confidence for c in prof.constants.values()}),
        ann=_ann(art, ann_profile),
        at_accuracy=_at_accuracy(act, prof, mapping, art, host_io),
        resources=mapping.to_json(),
    )
