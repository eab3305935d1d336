"""The readable resource table of a :class:`~snnc.compiler.analysis.resources.Mapping` (``snnc compile`` /
``snnc estimate``): one row per layer, the totals, the fan-in splits, max pools and issues.

``procs`` is the Lava processes the deployment builds for the layer (its synapses as the
plan deploys them, neuron and spike counter or readout, delays, max pools, host current
sources: :mod:`snnc.compiler.analysis.processes`); the header gives their total and the
extra processes the lowering's rewrites cost against the compiled graph (composed
currents add synapses per source, fused pools save theirs). ``fan-out`` is the synapses
one neuron's spike drives as deployed (through the composed synapses).
"""
from __future__ import annotations

from typing import Optional

from snnc.compiler.analysis.tables import table
from snnc.compiler.hardware.fanin import describe_splits


def _bits(b: Optional[int]) -> str:
    if not b:
        return "-"
    return f"{b / 8192:.1f} KiB" if b < 8 * 2 ** 20 else f"{b / 2 ** 23:.1f} MiB"


def _dash(v):
    return "-" if v is None else v


def format_mapping(m) -> str:
    from snnc.compiler.analysis.resources import WEIGHT_CONVENTION
    rows = [[l.name, l.kind, l.neurons, l.synapses, _bits(l.memory_bits), l.fan_in,
             f"{l.split.k} x" if l.split else "-", l.deployed_fan_out, l.processes, _dash(l.cores),
             l.neurons_per_core or "-", l.axons_per_core or "-", f"{l.weight_error:.2%}", l.bound or "-"]
            for l in m.layers]
    rows.append(["total", "", sum(l.neurons for l in m.layers), sum(l.synapses for l in m.layers),
                 _bits(sum(l.memory_bits for l in m.layers)), "", "", "", m.processes, _dash(m.cores),
                 "", "", "", ""])
    fit = "" if m.fits else " - DOES NOT FIT (failing layers' cores are lower bounds)"
    out = [f"resources on {m.profile}: {_dash(m.cores)} cores, {_dash(m.chips)} chip(s) "
           f"({WEIGHT_CONVENTION[m.mapping]}){fit}",
           f"Lava processes: {m.processes} ({m.extra_processes:+d} against the compiled graph: composed currents, "
           f"fused pools)",
           table(["layer", "kind", "neurons", "synapses", "memory", "fan-in", "split", "fan-out", "procs", "cores",
                  "neurons/core", "axons/core", "weight err", "bound by"], rows)]
    if any(l.split for l in m.layers):
        out.append(describe_splits(m.layers, m.extra_steps))
    if m.pools:
        out.append("max pools over currents (not synapses; host / x86 or a custom process): " + ", ".join(
            f"{p.name} ({p.mode}{', static' if p.static else ''}"
            f"{f', {p.state_values:,} state values' if p.state_values else ''})" for p in m.pools))
    out += [f"{i.level}: {i.message}" for i in m.issues]
    return "\n".join(out)
