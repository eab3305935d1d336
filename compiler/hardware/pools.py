"""Max pools over currents on neuromorphic hardware (algorithms.md section 4).

A spiking ``MaxPool2d`` takes a maximum over synaptic *currents*: each step's
I_i(t) (``pre-neuron``) or the running sums C_i(t) = sum_{s<=t} I_i(s)
(``cumulative``, feeding J(t) = max_i C_i(t) - max_i C_i(t-1)). A neuromorphic
core only sums weighted spikes into neurons, so neither is a standard synapse:
on Loihi a pool runs on the host / the embedded x86 cores or needs a custom
process (snnc's Lava backend runs it as the MaxPoolCurrent process on the host
CPU). The resource report warns about every such pool on a hardware profile,
and the energy and latency estimates do not include it.

State per sample: a pre-neuron pool keeps none; a cumulative pool keeps one
running sum per pooled input C_i plus the previous maximum max_i C_i(t-1) per
output. A pool whose input is constant in time (on the direct-coded input's
first-layer current) is *static*: both modes give max_i z_i every step, so it
can be computed on the host together with the first layer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from snnc.compiler.hardware.partition import Issue
from snnc.compiler.ir import Graph, MaxPool2d, static_nodes


@dataclass(frozen=True)
class PoolResources:
    name: str
    mode: str               # "pre-neuron" or "cumulative"
    inputs: int             # pooled input values (currents) per sample
    outputs: int
    static: bool            # input constant in time (computable on the host with the first layer)
    running_sums: int       # cumulative: one per pooled input; else 0
    previous_max: int       # cumulative: one per output; else 0

    @property
    def state_values(self) -> int:
        return self.running_sums + self.previous_max

    def to_json(self) -> dict:
        return {**asdict(self), "state_values": self.state_values}


def pool_resources(graph: Graph) -> list[PoolResources]:
    static = static_nodes(graph)
    out = []
    for n in graph.of_type(MaxPool2d):
        size_in, size_out = int(np.prod(graph.node(n.inputs[0]).shape)), int(np.prod(n.shape))
        cumulative = n.op.mode == "cumulative" and n.name not in static
        out.append(PoolResources(n.name, n.op.mode, size_in, size_out, n.name in static,
                                 size_in if cumulative else 0, size_out if cumulative else 0))
    return out


def pool_issues(pools: list[PoolResources], profile: str) -> list[Issue]:
    """One warning per pool over currents: where it has to run, and the state a cumulative pool keeps."""
    issues = []
    for p in pools:
        where = ("its input is constant in time: compute it on the host with the first layer"
                 if p.static else "it runs on the host / x86 cores or needs a custom process")
        state = (f"; it keeps {p.running_sums:,} running sums (one per pooled input) + {p.previous_max:,} "
                 "previous maxima per sample" if p.state_values else "")
        issues.append(Issue("warning", p.name, f"max pool {p.name!r} ({p.mode}) pools currents, which is not a "
                                               f"standard synapse on {profile}: {where}{state}; not included in "
                                               "the energy or latency estimate"))
    return issues
