"""Per-layer resources of a spiking graph and its mapping onto a hardware profile's cores.

A *layer* is an ``IFNeuron`` node or the readout accumulator (the graph's first
output). Its *segment* is the sub-graph between it and its *sources* (the
IFNeuron / Input nodes it reads): the synaptic ops (Conv2d, Linear, pools,
ChannelAffine gains) plus weightless plumbing (Add, Concat, Flatten, Pad,
MaxPool of currents, ...). A max pool over currents carries no synapse, but on
hardware it is not free plumbing either: :mod:`snnc.compiler.hardware.pools`
lists every one (mode, the cumulative pool's running-sum state) in
``Mapping.pools`` and warns that it runs on the host / x86 or needs a custom
process.

Counting (exact, closed form per op in :mod:`snnc.compiler.hardware.synapses`,
padding borders excluded):

* conv: synapses = O * (I/g) * (sum_h taps_h) * (sum_w taps_w), with taps_h the
  number of kernel rows of output row h that land inside the input (not in the
  padding); linear: out * in (structural: zero weights are stored too);
  avg pools: C * sum taps; elementwise gains and weightless paths (an identity
  skip into an Add): one synapse per element.
* fan-in of a neuron = the synapses of the segment's last synaptic ops into it;
  a layer's fan-out (``out_synapses``, ``fan_out``) is the exact SOP fan-out of
  :func:`snnc.compiler.analysis.sop.fanout_maps` (nonzero weights; through a
  pool, the path count to the next synapse), so pre-run SOP estimates and
  simulated SOPs count the same thing. The per-consumer split
  (``sources``, ``source_fan_out``: synapses of the first synaptic ops a source
  reaches) is used only to share a source's SOPs among its consumers' cores and
  to estimate routing edges.
* synaptic memory = synapses x the profile's weight bits. Convention: every
  connection stores its own weight (dense per-connection storage, no index
  overhead, no conv weight sharing). Loihi stores conv weights per connection
  unless shared-weight compression is used, so this is an upper bound for convs.
  A profile with ``mapping = "lava"`` (loihi2) maps as Lava does instead
  (:mod:`snnc.compiler.hardware.lava_rules`: conv kernels shared per core, dense
  weights packed per input axon in synapse words, no per-neuron fan-out split);
  each layer's ``bound`` names the rule that set its cores.
* a neuron whose inputs fit no core is split, on a target with graded spikes,
  into partial sums relayed as graded spikes (:mod:`snnc.compiler.hardware.fanin`):
  its ``cores`` include the relays', ``split`` holds the costs, ``memory_bits``
  the k unit weights per neuron; ``Mapping.extra_steps`` the pipeline steps added.
* weight precision: the weights are those of the deployment plan
  (:func:`snnc.compiler.lower.make_plan` at the profile's signed weight bits: one
  power-of-two exponent per layer, or one per output channel where the weights'
  spread needs it, ``exponents`` says which); the relative L2 error
  ||w - q(w)|| / ||w|| of exactly the integers the fixed-point run uses, above
  ``WEIGHT_TOLERANCE``, is a warning. A per-channel layer needs per-neuron
  thresholds (``thresholds``: distinct vth mantissas), no extra process.

Chains of synaptic ops without neurons in between (avgpool -> conv) are counted
per op, not as one composite connection, except where the deployment plan
composes them (a current meeting another synapse or a Concat before a neuron:
MobileNet's Adds without activation, DenseNet's Concat): a layer integrating a
composed current is counted and mapped on the plan's graph, one synapse per
source as deployed (:mod:`snnc.compiler.analysis.composed`).
"""
from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass, field
from typing import Optional, Union

import numpy as np

from snnc.compiler.errors import HardwareError
from snnc.compiler.analysis.composed import deployed, stored
from snnc.compiler.analysis.processes import compiled_processes, deployed_processes
from snnc.compiler.analysis.resources_table import format_mapping
from snnc.compiler.analysis.segments import layer_nodes, reach, segment_ops, segment_starts
from snnc.compiler.analysis.sop import fanout_maps
from snnc.compiler.hardware import Profile, load_profile
from snnc.compiler.hardware.fanin import Split, split_depth
from snnc.compiler.hardware.lava_rules import lava_partition
from snnc.compiler.hardware.partition import Issue, fan_out_check, partition
from snnc.compiler.hardware.pools import pool_issues, pool_resources
from snnc.compiler.hardware.synapses import Conn, connections, has_synapses
from snnc.compiler.ir import Graph, IFNeuron, node_macs
from snnc.compiler.lower import Plan

WEIGHT_TOLERANCE = 0.05
WEIGHT_CONVENTION = {
    "per-connection": "dense per-connection storage (no conv weight sharing), signed weights with one "
                      "power-of-two exponent per layer",
    "lava": "Loihi 2 as Lava maps it (hardware.lava_rules): conv kernels shared per core, dense weights packed "
            "per input axon in synapse words, population routing",
}


@dataclass
class LayerResources:
    name: str
    kind: str                        # "neuron" or "readout"
    shape: tuple
    neurons: int
    synapses: int = 0                # incoming connections
    fan_in: int = 0                  # max incoming synapses of one neuron
    sources: dict = field(default_factory=dict)   # source node -> first-hop synapses it drives here
    source_fan_out: dict = field(default_factory=dict)  # source -> max synapses one of its neurons drives here
    ops: list = field(default_factory=list)        # synaptic op nodes of the segment
    memory_bits: int = 0
    weight_error: float = 0.0
    exponents: str = ""              # "layer" | "channel": the plan's exponent scheme (snnc.compiler.lower)
    thresholds: int = 0              # distinct threshold mantissas in fixed point (per-neuron vth if > 1)
    out_synapses: int = 0            # SOPs if every neuron spikes once (sop.fanout_maps: the simulators' count)
    fan_out: int = 0                 # max SOPs of one neuron's spike
    deployed_out_synapses: int = 0   # the same through the synapses as the plan deploys them (composed)
    deployed_fan_out: int = 0        # max synapses one neuron's spike drives as deployed (routing)
    processes: int = 0               # Lava processes built for the layer (analysis.processes)
    cores: Optional[int] = None
    neurons_per_core: Optional[int] = None
    axons_per_core: Optional[int] = None
    memory_per_core: Optional[int] = None
    tile: Optional[tuple] = None
    split: Optional[Split] = None    # fan-in split into partial sums (hardware.fanin); cores include its relays
    bound: str = ""                  # the rule that set the layer's cores (neurons, synaptic memory, ...)

    def to_json(self) -> dict:
        d = asdict(self)
        d["shape"], d["tile"] = list(self.shape), (list(self.tile) if self.tile else None)
        return d


def _conn(graph: Graph, name: str, composed: bool = False) -> Conn:
    node = graph.node(name)
    c = connections(node.op, graph.node(node.inputs[0]).shape, node.shape)
    return stored(node.op, c) if composed else c


def _layer(graph: Graph, name: str, weight_bits: Optional[int], plan: Plan, composed: bool) -> LayerResources:
    """One layer counted on ``graph`` (the plan's graph when ``composed``: its synapses as deployed)."""
    node = graph.node(name)
    lay = LayerResources(name, "neuron" if isinstance(node.op, IFNeuron) else "readout",
                         tuple(node.shape), int(np.prod(node.shape)))
    starts = segment_starts(graph, name)
    lay.ops = [n for n in segment_ops(graph, starts) if has_synapses(graph.node(n).op)
               and (not composed or plan.sinks.get(n) == name)]   # not a host value another layer integrates
    direct, last = reach(graph, starts)
    lay.fan_in = sum(_conn(graph, n, composed).fan_in for n in last) + len(direct)
    lay.synapses = sum(_conn(graph, n, composed).total for n in lay.ops) + lay.neurons * len(direct)
    for src in direct:  # identity path: one synapse per element
        lay.sources[src] = lay.sources.get(src, 0) + lay.neurons
        lay.source_fan_out[src] = lay.source_fan_out.get(src, 0) + 1
    for op_name in lay.ops:
        srcs, _ = reach(graph, graph.node(op_name).inputs)
        c = _conn(graph, op_name, composed)
        sizes = {s: int(np.prod(graph.node(s).shape)) for s in srcs}
        for s in srcs:  # split an op fed by several sources (Concat) by their sizes
            lay.sources[s] = lay.sources.get(s, 0) + round(c.total * sizes[s] / sum(sizes.values()))
            lay.source_fan_out[s] = lay.source_fan_out.get(s, 0) + c.fan_out
    if weight_bits:
        lay.memory_bits = lay.synapses * weight_bits
        lp = plan.layers.get(name)
        if lp is not None:
            lay.weight_error, lay.exponents, lay.thresholds = lp.weight_error, lp.scheme, lp.thresholds
    return lay


def count_layers(graph: Graph, weight_bits: Optional[int] = None, deployment=None) -> list[LayerResources]:
    """Per-layer neurons, synapses, fan-in/out (and memory/precision at ``weight_bits``); a layer integrating
    a current the deployment plan composed is counted on the plan's graph (``analysis.composed``), and every
    layer's Lava processes and deployed fan-out are read from the plan. ``deployment``: ``deployed(graph,
    weight_bits)`` when the caller has it."""
    plan, composed, counted = deployment or deployed(graph, weight_bits)
    layers = [_layer(counted if n in composed else graph, n, weight_bits, plan, n in composed)
              for n in layer_nodes(graph)]
    fan, fan_plan, procs = fanout_maps(graph), fanout_maps(plan.graph), deployed_processes(plan)
    for lay in layers:   # SOPs as the simulators count them (the compiled graph), and as deployed
        lay.processes = procs.get(lay.name, 0)
        if lay.name in fan:
            lay.out_synapses, lay.fan_out = int(fan[lay.name].sum()), int(fan[lay.name].max(initial=0))
            f = fan_plan.get(lay.name, fan[lay.name])
            lay.deployed_out_synapses, lay.deployed_fan_out = int(f.sum()), int(f.max(initial=0))
    return layers


def _input_ops(graph: Graph) -> list[str]:
    """The synaptic ops driven directly by an analog input (direct coding), once each."""
    ops = []
    for inp in graph.inputs:
        for name in layer_nodes(graph):
            for op_name in (n for n in segment_ops(graph, segment_starts(graph, name))
                            if has_synapses(graph.node(n).op)):
                if inp.name in reach(graph, graph.node(op_name).inputs)[0] and op_name not in ops:
                    ops.append(op_name)
    return ops


def first_layer_macs(graph: Graph) -> int:
    """MACs per step of the synaptic ops driven directly by the analog input, padding taps included (the
    ANN's count; what a host computing the first layer with a dense kernel does)."""
    return sum(node_macs(graph, graph.node(n)) for n in _input_ops(graph))


def first_layer_synapses(graph: Graph) -> int:
    """Synaptic events per step of the input-driven ops: their synapses, padding taps excluded (zero padding
    sends no event on chip; counted like every other layer's SOPs)."""
    return sum(_conn(graph, n).total for n in _input_ops(graph))


@dataclass
class Mapping:
    """Layers with their counts and core partition on one profile, plus every issue found."""

    profile: str
    layers: list
    issues: list
    cores: Optional[int] = None
    chips: Optional[int] = None
    pools: list = field(default_factory=list)     # hardware.pools.PoolResources: max pools over currents
    extra_steps: int = 0     # pipeline steps added by fan-in splits on the longest path (+1 per split layer)
    mapping: str = "per-connection"   # the profile's mapping rules (schema.MAPPINGS)
    processes: int = 0       # Lava processes the deployment builds (the layers' sum)
    extra_processes: int = 0  # ... minus those the compiled graph would need (composition, fused pools)

    @property
    def errors(self) -> list:
        return [i for i in self.issues if i.level == "error"]

    @property
    def fits(self) -> bool:
        """No error: when False, the failing layers' core counts are lower bounds (neurons / neurons_per_core)."""
        return not self.errors

    def layer(self, name: str) -> LayerResources:
        return next(l for l in self.layers if l.name == name)

    def to_json(self) -> dict:
        return {"profile": self.profile, "fits": self.fits, "cores": self.cores, "chips": self.chips,
                "neurons": sum(l.neurons for l in self.layers),
                "synapses": sum(l.synapses for l in self.layers),
                "memory_bits": sum(l.memory_bits for l in self.layers),
                "mapping": self.mapping,
                "weight_convention": WEIGHT_CONVENTION[self.mapping],
                "layers": [l.to_json() for l in self.layers],
                "pools": [p.to_json() for p in self.pools],
                "pool_state_values": sum(p.state_values for p in self.pools),
                "fan_in_splits": [l.split.brief(l.name) for l in self.layers if l.split],
                "pipeline_extra_steps": self.extra_steps,
                "processes": self.processes, "extra_processes": self.extra_processes,
                "issues": [asdict(i) for i in self.issues]}


def _limits(profile: Profile) -> dict:
    return {k.split(".", 1)[1]: int(c.value) for k, c in profile.constants.items() if k.startswith("limits.")}


_MAPPINGS: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()


def map_graph(graph: Graph, profile: Union[str, Profile, None] = None,
              tolerance: float = WEIGHT_TOLERANCE) -> Mapping:
    """Count every layer and partition it onto the profile's cores; collect errors and warnings.

    Graphs are immutable and a Mapping is never changed after it is built, so the result is
    memoised per graph object and profile (``snnc compile`` stores it and prints it: one mapping).
    """
    profile = load_profile(profile)
    key = (profile.name, str(profile.path), tolerance)
    done = _MAPPINGS.setdefault(graph, {})
    if key not in done:
        done[key] = _map_graph(graph, profile, tolerance)
    return done[key]


def _map_graph(graph: Graph, profile: Profile, tolerance: float) -> Mapping:
    if not profile.is_snn:
        raise HardwareError(f"profile {profile.name!r} ({profile.path}) is an ANN profile with no neuromorphic "
                            "cores; use it as the ANN baseline (--ann-profile) and pick an snn profile")
    deployment = deployed(graph, profile.limit("weight_bits"))
    plan, composed, counted = deployment
    layers = count_layers(graph, profile.limit("weight_bits"), deployment)
    procs = (sum(l.processes for l in layers), sum(compiled_processes(plan).values()))
    issues = [Issue("warning", l.name, f"layer {l.name!r}: quantising weights to {profile.limit('weight_bits')} "
                                       f"bit loses {l.weight_error:.1%} (relative L2, tolerance {tolerance:.0%}); "
                                       "use quantisation-aware training or a profile with more weight bits")
              for l in layers if l.weight_error > tolerance]
    pools = pool_resources(graph)
    if not profile.has_limits:   # an op-count model: no cores, nothing to map the pools onto
        return Mapping(profile.name, layers, issues, pools=pools, processes=procs[0],
                       extra_processes=procs[0] - procs[1])
    issues += pool_issues(pools, profile.name)
    limits = _limits(profile)
    place = lava_partition if profile.mapping == "lava" else partition
    for l in layers:   # a composed layer is placed as deployed, on the plan's graph
        g = counted if l.name in composed else graph
        starts = segment_starts(g, l.name)
        issues += place(g, l, segment_ops(g, starts), starts, limits)
    readers: dict[str, list] = {}   # source -> the layers it feeds (one pass, not a scan per layer)
    for c in layers:
        for s in c.sources:
            readers.setdefault(s, []).append(c)
    for l in layers if profile.mapping != "lava" else ():   # Lava routes per destination core (lava_rules)
        issues += fan_out_check(l, readers.get(l.name, []), limits["max_fan_out"])
    cores = sum(l.cores or 0 for l in layers)
    return Mapping(profile.name, layers, issues, cores, -(-cores // limits["cores_per_chip"]), pools,
                   split_depth(graph, {l.name for l in layers if l.split}), profile.mapping, procs[0],
                   procs[0] - procs[1])


def check_fit(mapping: Mapping) -> Mapping:
    """Raise HardwareError listing every layer that cannot be mapped (warnings are logged by callers)."""
    if mapping.errors:
        raise HardwareError(f"network does not fit profile {mapping.profile!r}: "
                            + "; ".join(i.message for i in mapping.errors))
    return mapping


def summary(graph: Graph, profile: Union[str, Profile, None] = None) -> dict:
    """JSON form of :func:`map_graph` (what ``snnc compile`` stores as the artifact's resource summary)."""
    return map_graph(graph, profile).to_json()


def summary_table(graph: Graph, profile: Union[str, Profile, None] = None) -> str:
    """Readable resource table of ``graph`` on ``profile`` (printed by ``snnc compile`` / ``snnc estimate``)."""
    return format_mapping(map_graph(graph, profile))
