"""``snnc.estimate``: resources, energy, latency, FPS and FPS/W of a compiled network on a profile.

Activity comes from a simulation record (an :class:`Activity`, e.g. ``snnc
simulate --activity-out run.json``) or, before any run, from the calibration
statistics (:mod:`snnc.compiler.analysis.expected`, labelled "pre-run
estimate from calibration statistics"). Every figure is given at the low,
nominal and high ends of the profile's constant ranges (see
:mod:`snnc.compiler.analysis.energy` for the model). The ANN baseline is the
source ANN's MACs x e_mac of an ANN profile. With an accuracy sweep
(``Activity.accuracy`` {T: acc} and ``ann_accuracy``), SOP90 / SOP95 are the
SOPs per sample at the first T reaching 90% / 95% of the ANN's accuracy.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Union

from snnc.compiler.analysis import energy as en
from snnc.compiler.analysis.activity import Activity
from snnc.compiler.analysis.expected import LABEL, SOURCE, expected_activity, truncate
from snnc.compiler.analysis.resources import Mapping, check_fit, map_graph
from snnc.compiler.artifact import Artifact, load
from snnc.compiler.errors import DataError, HardwareError
from snnc.compiler.hardware import WHICH, Profile, load_profile

log = logging.getLogger(__name__)
DEFAULT_T = 32
DEFAULT_ANN_PROFILE = "seed-generic"
INCLUDED = ["on-chip dynamic energy: synaptic ops, neuron updates (active / idle), first-layer input MACs",
            "static chip power over the latency (when the profile gives it)"]
EXCLUDED = ["host I/O (input injection, output readback, host CPU)", "off-chip memory",
            "energy of the ANN baseline's memory accesses (arithmetic only)"]


def _ranged(fn) -> dict:
    return {w: fn(w) for w in WHICH}


def _span(by_which: dict) -> dict:
    """{low, nominal, high} of one figure: low / high are the min / max over the constants' ends."""
    vals = [v for v in by_which.values() if v is not None]
    if not vals:
        return {"low": None, "nominal": None, "high": None}
    return {"low": min(vals), "nominal": by_which["nominal"], "high": max(vals)}


def _activity(art: Artifact, mapping: Mapping, activity, T: Optional[int]) -> Activity:
    if activity is None:
        return expected_activity(art, T or DEFAULT_T, mapping.layers)
    act = activity if isinstance(activity, Activity) else Activity.load(activity)
    names = {l.name for l in mapping.layers if l.kind == "neuron"}
    got = {l.name for l in act.layers}
    if got != names:
        raise DataError(f"activity record layers {sorted(got ^ names)} do not match the network's IFNeuron "
                        "layers: it was recorded on another network; re-run `snnc simulate --activity-out`")
    return truncate(act, T) if T else act


def _at_accuracy(act: Activity, profile: Profile, mapping: Mapping) -> dict:
    """SOP90 / SOP95 and FPS/W at the first T reaching 90% / 95% of the ANN accuracy."""
    if not act.accuracy or act.ann_accuracy is None:
        return {}
    out = {}
    for frac in (0.90, 0.95):
        hits = sorted(t for t, a in act.accuracy.items() if a >= frac * act.ann_accuracy)
        key = f"{round(frac * 100)}"
        if not hits:
            out[key] = {"reached": False, "target": frac * act.ann_accuracy}
        elif hits[0] > act.T:
            out[key] = {"reached": True, "T": hits[0], "note": f"T={hits[0]} is beyond the {act.T} recorded steps"}
        else:
            a = truncate(act, hits[0])
            figs = _ranged(lambda w: en.snn_energy(a, profile, mapping, w))
            out[key] = {"reached": True, "T": hits[0], "accuracy": act.accuracy[hits[0]], "sop": a.sop,
                        "energy_j": _span({w: f["total"] for w, f in figs.items()}),
                        "fps_per_watt": _span({w: f["fps_per_watt"] for w, f in figs.items()}),
                        "sop_only": en.sop_energy(a.sop, profile)}
    return out


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


def estimate(artifact: Union[Artifact, str, Path], profile: Union[str, Profile, None] = None,
             activity: Union[Activity, str, Path, None] = None, T: Optional[int] = None,
             ann_profile: Union[str, Profile, None] = DEFAULT_ANN_PROFILE, ignore_fit: bool = False) -> dict:
    """Resources, energy / latency / FPS / FPS/W ranges, per-layer breakdown and the ANN baseline.

    A network that does not fit the profile raises HardwareError, unless
    ``ignore_fit``: then the failing layers count as ceil(neurons /
    neurons_per_core) cores (a lower bound) and the report says it does not fit.
    """
    art = artifact if isinstance(artifact, Artifact) else load(artifact)
    prof = load_profile(profile)
    mapping = map_graph(art.snn, prof)
    for w in mapping.issues if ignore_fit else (i for i in mapping.issues if i.level == "warning"):
        log.warning(w.message)
    if not ignore_fit:
        check_fit(mapping)
    act = _activity(art, mapping, activity, T)
    figs = _ranged(lambda w: en.snn_energy(act, prof, mapping, w))
    nominal = figs["nominal"]
    per_layer = [{"layer": name, **v, **{k: x for k, x in _span({w: f["per_layer"][name]["total"]
                                                                 for w, f in figs.items()}).items() if k != "nominal"}}
                 for name, v in nominal["per_layer"].items()]
    return {
        "profile": prof.name, "profile_kind": prof.kind, "T": act.T,
        "activity_source": LABEL if act.source == SOURCE else f"simulation ({act.source}, {act.samples} samples)",
        "profile_notes": prof.notes,
        "counts": {"sop": act.sop, "spikes": sum(sum(l.spikes_per_step) for l in act.layers),
                   "neuron_updates": act.neuron_updates, "first_layer_macs_per_step": act.first_layer_macs,
                   "first_layer_convention": act.first_layer_convention, "input_macs": en.input_macs(act)},
        "energy_j": _span({w: f["total"] for w, f in figs.items()}),
        "latency_s": _span({w: f["latency"] for w, f in figs.items()}),
        "fps": _span({w: f["fps"] for w, f in figs.items()}),
        "fps_per_watt": _span({w: f["fps_per_watt"] for w, f in figs.items()}),
        "breakdown_j": {k: _span({w: f[k] for w, f in figs.items()})
                        for k in ("input", "sop", "neuron", "readout", "static", "dynamic")},
        "per_layer": per_layer,
        "included": INCLUDED if prof.has("power.p_static_chip") else INCLUDED[:1],
        "excluded": EXCLUDED + ([] if prof.has("power.p_static_chip") else ["static power (profile has none)"]),
        "latency_note": None if nominal["latency"] is not None else "profile has no timing model: latency and FPS not estimated",
        "confidence": sorted({c.confidence for c in prof.constants.values()}),
        "ann": _ann(art, ann_profile),
        "at_accuracy": _at_accuracy(act, prof, mapping),
        "resources": mapping.to_json(),
    }
