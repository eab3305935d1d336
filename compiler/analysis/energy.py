"""Energy and latency of one inference from counted activity (hardware.md, algorithms.md section 8).

With a profile's constants (``which`` = low / nominal / high end of their ranges)::

    E        = E_in + sum_t [ e_sop * S_t + e_nu_active * A_t + e_nu_idle * (N - A_t) ] + P_static * latency
    E_in     = e_in_mac * first-layer MACs * (T for the "per-step" convention, 1 for "once")
    latency  = sum_t t_step(t),   t_step(t) = max over cores (S_c(t) * t_sop + N_c * t_nu) + t_sync
             (or T * t_step_fixed for a chip throttled to a fixed tick)
    FPS = 1 / latency,   FPS/W = frames per joule = 1 / E,   ANN: E = MACs * e_mac

S_t: synaptic events at step t (every spike times its fan-out); A_t: neurons
that fire at step t (the *active* updates: integrate, fire, reset); N: all
neurons incl. the non-spiking readout (updated every step, never active).
P_static = p_static_chip x chips. S_c(t): a layer's incoming events at step t
(each source's SOPs split over its consumers by synapse counts, the
first-layer MACs added to the layers the input drives) spread evenly over
the layer's cores; N_c its neurons per core.

A layer whose fan-in is split into k partial sums (:mod:`snnc.compiler.hardware.fanin`)
adds, every step, k x N graded synaptic events into its integrating neurons and
k x N relay compartment updates, each relay sending every step (partial sums are
dense currents)::

    E_relay = T x k x N x (e_sop + e_nu_active)

(graded events at e_sop: no published figure separates a graded synaptic op).

A sigma-delta network (``activity.payload_bits`` > 1: graded spikes carrying
the change of a B-bit code) prices each of its synaptic operations as a
graded operation, a multiply-accumulate of the payload with the weight::

    E_sop = e_graded_op x graded ops     (energy.e_graded_op; e_sop when the profile has none)

and its neuron terms as above (active: the neuron sends a graded spike this
step). Timing and routing are per message, as for binary spikes (assumed: a
payload of up to graded_spike_bits travels in one message; t_sop per op).
Its busiest core is the busier of a relay core, S(t) / relay_cores x t_sop +
relay neurons per core x t_nu, and an integrating core, k x N / integrating
cores x t_sop + N_c x t_nu. The +1 pipeline step per split layer is not in the
latency: it is T x t_step, with no pipeline depth (fill) modelled at all.

Terms of a profile that gives them (each reported on its own line)::

    E_route  = e_hop x hops x sum_l spikes_l x edges_l      (energy.e_hop; spike routing on the mesh)
    E_core   = e_core_step x cores x T                      (energy.e_core_step; every occupied core, every step)
    t_step  += t_step_overhead                              (timing.t_step_overhead; runtime management)
    t_io     = input bytes x t_io_byte                      (timing.t_io_byte; only with host I/O included)

edges_l: destination cores one spike of layer l reaches (per consumer min(cores, ceil(fan-out /
neurons per core) + 1), as :func:`snnc.compiler.hardware.partition._edges`); hops = 2/3 x sqrt(cores
on one chip), the mean Manhattan distance between two cores of a square mesh of that many. Host I/O
(``input_bytes``, off unless asked for) adds its time to the latency, so the chips' static power runs
on over it, but no host-side energy: snnc has no model of the host CPU.
"""
from __future__ import annotations

import math
from typing import Optional

from snnc.compiler.analysis.activity import Activity
from snnc.compiler.errors import DataError, HardwareError
from snnc.compiler.hardware import Profile
from snnc.compiler.hardware.partition import _edges


# first-layer convention (activity.CONVENTIONS) -> the steps in which the input MACs run
INPUT_STEPS = {"per-step": lambda T: range(T), "once": lambda T: range(1)}


def input_steps(activity: Activity) -> range:
    """The steps whose first-layer MACs are charged; DataError for an unknown convention."""
    fn = INPUT_STEPS.get(activity.first_layer_convention)
    if fn is None:
        raise DataError(f"activity record: first_layer_convention: {activity.first_layer_convention!r} is not one "
                        f"of {sorted(INPUT_STEPS)}")
    return fn(activity.T)


def input_macs(activity: Activity) -> float:
    """First-layer MACs per sample under the activity's convention (every step or once)."""
    return float(activity.first_layer_macs) * len(input_steps(activity))


def relay_events(activity: Activity, mapping=None) -> dict:
    """{split layer: (graded events, relay compartment updates) per sample} of the mapping's fan-in splits."""
    if mapping is None:
        return {}
    T = activity.T
    return {l.name: (float(l.split.graded_events_per_step * T), float(l.split.relay_compartments * T))
            for l in mapping.layers if l.split}


def snn_dynamic(activity: Activity, profile: Profile, which: str = "nominal", mapping=None) -> dict:
    """Dynamic energy (J) per sample: input, SOP and neuron terms, and per layer (with the mapping's
    fan-in split relays in their layer's SOP and neuron terms; ``relay``: their total)."""
    e_sop, e_act, e_idle, e_in = (profile.get(f"energy.{k}", which)
                                  for k in ("e_sop", "e_nu_active", "e_nu_idle", "e_in_mac"))
    e_op = graded_op_energy(profile, which) if activity.payload_bits > 1 else e_sop
    per_layer = {}
    for l in activity.layers:
        spikes = float(sum(l.spikes_per_step))
        sop = e_op * float(sum(l.sop_per_step))
        neuron = e_act * spikes + e_idle * (l.neurons * activity.T - spikes)
        per_layer[l.name] = {"sop": sop, "neuron": neuron, "total": sop + neuron}
    relay = 0.0
    for name, (events, updates) in relay_events(activity, mapping).items():
        v = per_layer.setdefault(name, {"sop": 0.0, "neuron": 0.0, "total": 0.0})   # a split readout: relays only
        v["relay"] = e_sop * events + e_act * updates
        v["sop"], v["neuron"] = v["sop"] + e_sop * events, v["neuron"] + e_act * updates
        v["total"] += v["relay"]
        relay += v["relay"]
    readout = e_idle * activity.output_neurons * activity.T
    parts = {"input": e_in * input_macs(activity),
             "sop": sum(v["sop"] for v in per_layer.values()),
             "neuron": sum(v["neuron"] for v in per_layer.values()) + readout,
             "routing": routing_energy(activity, profile, mapping, which),
             "core": core_step_energy(activity, profile, mapping, which)}
    return {**parts, "readout": readout, "relay": relay, "dynamic": sum(parts.values()), "per_layer": per_layer}


def graded_op_energy(profile: Profile, which: str = "nominal") -> float:
    """Energy of one graded synaptic op: ``energy.e_graded_op``, or ``e_sop`` when the profile gives none."""
    key = "energy.e_graded_op" if profile.has("energy.e_graded_op") else "energy.e_sop"
    return profile.get(key, which)


def mean_hops(cores: int) -> float:
    """Mean Manhattan distance between two cores of a square mesh of ``cores`` (2/3 x side)."""
    return 2.0 / 3.0 * math.sqrt(max(cores, 1))


def routing_energy(activity: Activity, profile: Profile, mapping=None, which: str = "nominal") -> float:
    """e_hop x hops x spike messages (one per destination core); 0 without e_hop or a core mapping."""
    if not profile.has("energy.e_hop") or mapping is None or mapping.cores is None:
        return 0.0
    consumers = {}
    for c in mapping.layers:
        for s in c.sources:
            consumers.setdefault(s, []).append(c)
    per_chip = min(mapping.cores, profile.limit("cores_per_chip") or mapping.cores)
    messages = sum(sum(l.spikes_per_step) * sum(_edges(c, l.name) for c in consumers.get(l.name, []) if c.cores)
                   for l in activity.layers)
    return profile.get("energy.e_hop", which) * mean_hops(per_chip) * messages


def core_step_energy(activity: Activity, profile: Profile, mapping=None, which: str = "nominal") -> float:
    """e_core_step x occupied cores x T: each core's per-step cost beyond its counted events; 0 without
    energy.e_core_step or a core mapping."""
    if not profile.has("energy.e_core_step") or mapping is None or mapping.cores is None:
        return 0.0
    return profile.get("energy.e_core_step", which) * mapping.cores * activity.T


def layer_loads(activity: Activity, mapping) -> dict:
    """Incoming synaptic events per step for every mapped layer: {layer: [S(t) for t]}."""
    acts = {l.name: l for l in activity.layers}
    by_name = {l.name: l for l in mapping.layers}
    first = activity.first_layer_macs
    out = {}   # source -> synapses it drives in all consumers (the denominator of each share)
    for lay in mapping.layers:
        for s, syn in lay.sources.items():
            out[s] = out.get(s, 0) + syn
    loads = {}
    for lay in mapping.layers:
        load = [0.0] * activity.T
        for s, syn in lay.sources.items():
            share = syn / out[s] if out[s] else 0.0
            if s in acts:
                load = [a + share * b for a, b in zip(load, acts[s].sop_per_step)]
            elif s not in by_name:
                for t in input_steps(activity):
                    load[t] += share * first
        loads[lay.name] = load
    return loads


def latency(activity: Activity, profile: Profile, mapping=None, which: str = "nominal") -> Optional[float]:
    """Seconds per inference of T steps, or None when the profile or mapping cannot tell."""
    if profile.fixed_step:
        return activity.T * profile.get("timing.t_step_fixed", which)
    if not profile.has_timing or mapping is None or mapping.cores is None:
        return None
    t_sop, t_nu, t_sync = (profile.get(f"timing.{k}", which) for k in ("t_sop", "t_nu", "t_sync"))
    t_sync += profile.get("timing.t_step_overhead", which) if profile.has("timing.t_step_overhead") else 0.0
    loads = layer_loads(activity, mapping)
    total = 0.0
    for t in range(activity.T):
        busiest = max(_busiest_core(l, loads[l.name][t], t_sop, t_nu) for l in mapping.layers if l.cores)
        total += busiest + t_sync
    return total


def host_io_time(profile: Profile, input_bytes: Optional[float], which: str = "nominal") -> float:
    """Seconds per inference to move ``input_bytes`` between host and chip (0 when host I/O is excluded)."""
    if input_bytes is None:
        return 0.0
    if not profile.has("timing.t_io_byte"):
        raise HardwareError(f"profile {profile.name!r} ({profile.path}) has no host I/O timing (timing.t_io_byte); "
                            "estimate without host I/O")
    return input_bytes * profile.get("timing.t_io_byte", which)


def _busiest_core(l, load: float, t_sop: float, t_nu: float) -> float:
    """One step of the layer's busiest core: its share of the incoming events, then its neuron updates."""
    if l.split is None:
        return load / l.cores * t_sop + l.neurons_per_core * t_nu
    s = l.split
    relay = load / s.relay_cores * t_sop + s.relay_neurons_per_core() * t_nu
    integrate = s.graded_events_per_step / (l.cores - s.relay_cores) * t_sop + l.neurons_per_core * t_nu
    return max(relay, integrate)


def static_power(profile: Profile, mapping=None, which: str = "nominal") -> float:
    """Static power (W) of the chips the network occupies (0 when the profile has none)."""
    if not profile.has("power.p_static_chip"):
        return 0.0
    chips = mapping.chips if mapping is not None and mapping.chips else 1
    return profile.get("power.p_static_chip", which) * chips


def snn_energy(activity: Activity, profile: Profile, mapping=None, which: str = "nominal",
               input_bytes: Optional[float] = None) -> dict:
    """Full per-sample figures at one end of the constants' ranges (energy J, latency s, FPS, FPS/W).

    ``input_bytes``: host I/O per inference to include (its time in the latency, ``host_io`` s), or None."""
    dyn = snn_dynamic(activity, profile, which, mapping)
    lat = latency(activity, profile, mapping, which)
    io = host_io_time(profile, input_bytes, which) if lat is not None else 0.0
    lat = lat + io if lat is not None else None
    static = static_power(profile, mapping, which) * lat if lat is not None else 0.0
    total = dyn["dynamic"] + static
    return {**dyn, "static": static, "total": total, "latency": lat, "host_io": io,
            "fps": (1.0 / lat) if lat else None, "fps_per_watt": (1.0 / total) if total > 0 else None}


def sensitivity(activity: Activity, profile: Profile, mapping=None, input_bytes: Optional[float] = None) -> list:
    """Per uncertain constant: FPS/W with it at its low and high end, every other constant nominal; sorted by
    the factor it spans (max / min FPS/W), largest first."""
    base = snn_energy(activity, profile, mapping, "nominal", input_bytes)["fps_per_watt"]
    out = []
    for key, c in profile.constants.items():
        if not c.uncertain or key.startswith("limits."):
            continue
        ends = {w: snn_energy(activity, profile.at(key, w), mapping, "nominal", input_bytes)["fps_per_watt"]
                for w in ("low", "high")}
        vals = [v for v in (*ends.values(), base) if v]
        if not vals:
            continue
        out.append({"constant": key, "confidence": c.confidence, "fps_per_watt_at_low": ends["low"],
                    "fps_per_watt_at_high": ends["high"], "factor": max(vals) / min(vals)})
    return sorted(out, key=lambda d: -d["factor"])


def ann_energy(macs: float, profile: Profile, which: str = "nominal") -> dict:
    """ANN baseline: MACs x e_mac (arithmetic only; latency not modelled)."""
    e = float(macs) * profile.get("energy.e_mac", which)
    return {"macs": float(macs), "energy": e, "fps_per_watt": (1.0 / e) if e > 0 else None}


def sop_energy(sop: float, profile: Profile, which: str = "nominal") -> dict:
    """Op-count model of the seed paper: SOPs x e_sop."""
    e = float(sop) * profile.get("energy.e_sop", which)
    return {"sop": float(sop), "energy": e, "fps_per_watt": (1.0 / e) if e > 0 else None}
