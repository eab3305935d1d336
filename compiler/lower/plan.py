"""The deployment plan: everything hardware-specific about a spiking graph, decided once.

``make_plan(graph, fmt)`` lowers the compiled SNN for a number format
(:class:`NumberFormat`: floating point, or Loihi fixed point with the profile's
weight bits; custom processes or stock Lava processes) into one typed
:class:`Plan` that the resource estimate, the Lava backend, its NumPy reference
and the netx export read, none of them re-deriving it:

* ``host``: the nodes the host computes (the time-constant prefix ``static_nodes``
  under direct coding; stock: the graph inputs only) and ``frontier``, the host
  values the chip reads;
* ``graph``: the graph with average pools fused into their neighbouring synapse
  (``fuse``; ``fusions`` logs each), and every current that meets another synapse
  or a Concat before a neuron composed into one synapse per source (``linear``;
  ``compositions`` logs each, and each left alone with the reason);
* ``sinks``: for every current, the IFNeuron / readout that integrates it;
* ``layers``: per integrating layer the exponents of one unit of its current, one
  per output channel (below), and ``synapses``: the quantised weights of every
  synapse (``quantize.quantise``, the one rule) with their error;
* ``delays`` (stock residual branches) and ``readout``.

Fixed point per layer L with output channels c, b weight bits, qmax = 2**(b-1) - 1,
e_{s,c} the exponent synapse s's row c would take alone and k_s >= 0 the
synapse's weight exponent (``exponents``: chosen per layer, 0 unless a synapse
with much smaller weights than another one feeding L, e.g. a residual conv
branch beside its skip gain, gains precision from its own)::

    e_{s,c} = clamp(floor(log2(qmax / max_i |W_s[c, i]|)), 0, 16)
    E_c = min(floor(log2(VTH_MAX / theta_c)), min_s (e_{s,c} + k_s))
    W_q[s][c, ...] = quantise(W_s[c, ...], E_c - k_s),  vth_c = round(theta_c 2**E_c),  v units 2**(E_c + 6)

Synapse s's integers in the unit of L are ``W_q[s] << k_s`` (``SynapsePlan.units``,
exact): Loihi's synapse mantissa with a per-synapse-group exponent, Lava's
Dense ``weight_exp``. With every k_s = 0 (plan version 1) the synapse with the
largest weights sets E_c for all of them. A layer of IF neurons fed only by the
host integrates a time-constant current round(I 2**E_c) (24 bits, not a b-bit
weight), so E_c = max(the rule above, hi_c - 1), hi_c = min(16, floor(log2(VTH_MAX /
theta_c))): the finest unit whose v holds 2 theta. Where I < 0 or I > theta its v
saturates, and such a neuron never / always fires either way (exact).

A per-channel exponent is exact: scaling every input of neuron c, its threshold,
bias and v_init by the same 2**E_c leaves its spikes unchanged. It needs a neuron
model that holds one threshold per neuron (the custom ``IntegrateFire`` does), so
the scheme is chosen per layer: ``"layer"`` (one exponent E = min_c E_c) when all
E_c agree, in stock mode (Lava's LIF takes one vth), or when a current changes
its channel layout on the way (a Flatten); ``"channel"`` otherwise. A channel
layer costs no extra process or synapse; its neurons need per-neuron thresholds
(``thresholds``: the distinct vth mantissas, reported by the resource estimate).
This is what lets cltb's per-channel thresholds, folded into the weights, survive
8-bit weights (docs/lava.md). ``exponent_max`` is the neuron model's field for its
layer exponent (op trait; Lava's SigmaDelta: state_exp = E, 3 bits, so E <= 7): a
layer's E is capped there (E <= exponent_max), so it keeps coarser weights;
``LayerPlan.capped`` records the exponent its weights asked for and the weight error
that would have had (the cost).
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from snnc.compiler.errors import BackendError, HardwareError
from snnc.compiler.ir import Graph, IFNeuron
from snnc.compiler.lower.exponents import E_MAX, choose, mantissa_exponent, own_exponents, row_max
from snnc.compiler.lower.fuse import fuse_avgpools
from snnc.compiler.lower.linear import linearise
from snnc.compiler.lower.quantize import exponent, quantise, relative_error, zeroed_rows
from snnc.compiler.lower.walk import branch_delays, current_sinks, graded_synapses, host_frontier, host_nodes, \
    weight_of

PLAN_VERSION = 2                  # 2: per-synapse weight exponents (``shifts``); 1 plans are those with none
VTH_MAX = 2 ** 17 - 1
V_MAX = 2 ** 23 - 1


@dataclass(frozen=True)
class NumberFormat:
    fixed: bool = False
    weight_bits: int = 8
    stock: bool = False           # stock Lava processes: graded input into the first synapses, LIF (one vth)
    input_bits: int = 7           # stock: graded input round(x 2**ib), ib <= input_bits
    per_channel: bool = True      # allow per-output-channel exponents (False: one per layer, for comparison)
    per_synapse: bool = True      # allow a weight exponent per synapse (False: one unit for all, plan version 1)

    def __post_init__(self):
        if self.fixed and not 2 <= self.weight_bits <= 9:
            raise HardwareError(f"{self.weight_bits}-bit weights: Lava's fixed-point Dense keeps at most 9-bit "
                                f"signed weights (2..9 bits)")


@dataclass
class LayerPlan:
    name: str
    exponents: np.ndarray         # (C,) int: one unit of current into channel c is 2**-E_c (a_in units)
    scheme: str = "layer"         # "layer" | "channel"
    max_abs_weight: float = 0.0
    weight_error: float = 0.0     # max ``SynapsePlan.error`` over the synapses feeding the layer (host ones too)
    weights_clipped: int = 0
    units_zeroed: dict = field(default_factory=dict)   # synapse -> output units whose weights all became 0
    thresholds: int = 0           # distinct vth mantissas (fixed point IF layers)
    capped: Optional[dict] = None # the neuron model's exponent field capped E (``exponent_max``): the exponent
                                  # the weights asked for and the weight error there
    vth: Optional[np.ndarray] = None      # fixed point IF layers: (C,) 17-bit threshold mantissas (used << 6)
    v_init: Optional[np.ndarray] = None   # (C,) initial potentials in v units (2**(E_c + 6))
    problem: Optional[str] = None          # why the layer cannot run in this fixed point (raised when built)
    shifts: dict = field(default_factory=dict)   # synapse -> weight exponent k_s > 0 (its integers are q << k_s)


@dataclass
class SynapsePlan:
    name: str
    sink: str
    weights: np.ndarray           # fixed: int64 mantissas; float: float64 weights
    exponent: np.ndarray          # scalar or (O,) exponents along axis 0 of ``weights``
    error: float = 0.0
    clipped: int = 0
    host: bool = False            # computed by the host (the direct-coded first layer): quantised for the
                                  # resource estimate only, the Lava backends run it in float
    shift: int = 0                # weight exponent k_s: in the layer's unit the integers are weights << shift

    @property
    def units(self) -> np.ndarray:
        """The weights in the integrating layer's unit (fixed: mantissas << shift, exact; float: as is)."""
        return self.weights << self.shift if self.shift else self.weights


@dataclass
class Plan:
    fmt: NumberFormat
    source: Graph                 # the compiled SNN
    graph: Graph                  # average pools fused (what the backends build)
    host: frozenset
    frontier: list
    sinks: dict
    fusions: list
    graded: frozenset             # stock: synapses reading the graph input
    delays: dict                  # stock: synapse -> (extra steps, Add)
    readout: str
    compositions: list = field(default_factory=list)   # currents composed into synapses (``linear``)
    composed: frozenset = frozenset()                  # the currents ``linear`` composed (names)
    layers: dict = field(default_factory=dict)
    synapses: dict = field(default_factory=dict)
    input_bits: int = 0           # stock fixed point: the graded input's ib

    def exponents(self, sink: str) -> np.ndarray:
        """Exponents (C,) of one unit of ``sink``'s current, the graded input's 2**ib included."""
        return self.layers[sink].exponents + (self.input_bits if self.shifted(sink) else 0)

    def shifted(self, sink: str) -> bool:
        return any(self.sinks.get(s) == sink for s in self.graded)

    def summary(self) -> dict:
        """The plan as JSON (recorded in the artifact, printed by the reports)."""
        layers = {k: {"scheme": v.scheme, "exponents": _runs(v.exponents), "weight_error": round(v.weight_error, 6),
                      "weights_clipped": v.weights_clipped, "units_zeroed": dict(v.units_zeroed),
                      "thresholds": v.thresholds, "shifts": dict(v.shifts)} for k, v in self.layers.items()}
        return {"version": PLAN_VERSION, "format": "fixed_pt" if self.fmt.fixed else "floating_pt",
                "weight_bits": self.fmt.weight_bits, "stock": self.fmt.stock, "host": sorted(self.host),
                "fusions": list(self.fusions), "compositions": list(self.compositions), "layers": layers}


def _runs(e) -> list:
    """Exponents as [[value, count], ...] runs (short for a layer scheme)."""
    out: list = []
    for v in np.asarray(e).tolist():
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


_PLANS: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()


def make_plan(graph: Graph, fmt: NumberFormat = NumberFormat()) -> Plan:
    """The deployment plan of ``graph`` in ``fmt`` (memoised per immutable graph and format). A graph with a
    neuron whose model holds one threshold a layer (the op trait ``layer_exponents``: Lava's SigmaDelta)
    is lowered with one exponent a layer, whatever ``fmt`` allows, so the compile's record is what runs."""
    if (fmt.per_channel or fmt.per_synapse) and any(n.op.layer_exponents for n in graph):
        fmt = replace(fmt, per_channel=False, per_synapse=False)
    per = _PLANS.setdefault(graph, {})
    if fmt not in per:
        per[fmt] = _make(graph, fmt)
    return per[fmt]


def _make(graph: Graph, fmt: NumberFormat) -> Plan:
    host = frozenset(host_nodes(graph, fmt.stock))
    fused, fusions = fuse_avgpools(graph, skip=host)
    fused, composed, on_host, currents = linearise(fused, host)
    host = frozenset(n.name for n in fused if n.name in host or n.name in on_host)
    sinks = current_sinks(fused)
    plan = Plan(fmt, graph, fused, host, host_frontier(fused, host), sinks, fusions,
                frozenset(graded_synapses(fused)) if fmt.stock else frozenset(),
                branch_delays(fused, host) if fmt.stock else {}, fused.outputs[0], compositions=composed,
                composed=currents)
    weighted = [n for n in fused if weight_of(n) is not None and n.name in sinks]
    for s in dict.fromkeys(n.name for n in fused if sinks.get(n.name) == n.name):
        # host synapses count too: their weights bound the host current the layer integrates
        plan.layers[s] = _layer(fused, s, [n for n in weighted if sinks[n.name] == s], sinks, fmt, host)
    for n in weighted:
        plan.synapses[n.name] = _synapse(n, plan.layers[sinks[n.name]], fmt, n.name in host)
    if not fmt.fixed:  # a synapse whose current feeds another synapse has no scale, only a float form
        for n in fused:
            if weight_of(n) is not None and n.name not in sinks:
                plan.synapses[n.name] = SynapsePlan(n.name, "", np.asarray(weight_of(n), np.float64),
                                                    np.int64(0), host=n.name in host)
    for lay in plan.layers.values():
        mine = [p for p in plan.synapses.values() if p.sink == lay.name and not p.host]
        lay.weight_error = max((p.error for p in plan.synapses.values() if p.sink == lay.name), default=0.0)
        lay.weights_clipped = sum(p.clipped for p in mine)
        if fmt.fixed:
            lay.units_zeroed = {p.name: f"{z} of {p.weights.shape[0]}" for p in mine
                                if (z := zeroed_rows(weight_of(fused.node(p.name)), p.weights))}
    if fmt.fixed and fmt.stock:
        plan.input_bits = _input_bits(plan)
    if fmt.fixed:
        for n in fused.of_type(IFNeuron):
            _neuron(plan, n)
    return plan


def _neuron(plan: Plan, node) -> None:
    """vth_c = round(theta_c 2**E_c) (1..VTH_MAX), v_init_c = round(v0_c 2**(E_c + 6)) (24 bits)."""
    e, c = plan.exponents(node.name), node.shape[0]
    vth = np.round(np.broadcast_to(np.asarray(node.op.threshold, np.float64), (c,)) * 2.0 ** e).astype(np.int64)
    v0 = np.round(np.broadcast_to(np.asarray(node.op.v_init, np.float64), (c,)) * 2.0 ** (e + 6)).astype(np.int64)
    lay = plan.layers[node.name]
    lay.vth, lay.v_init = vth, v0
    if vth.max(initial=0) > VTH_MAX or vth.min(initial=1) < 1:
        lay.problem = (f"IFNeuron {node.name!r}: threshold mantissa {vth.min()}..{vth.max()} (exponent "
                       f"{e.min()}..{e.max()}) does not fit Loihi's 17-bit vth (1..{VTH_MAX})")
    elif np.abs(v0).max(initial=0) > V_MAX:
        lay.problem = f"IFNeuron {node.name!r}: initial potential exceeds 24 bits"


def _channels_ok(graph: Graph, sink: str, sinks: dict) -> bool:
    """Every current into ``sink`` keeps its channel axis (same rank, same channel count)."""
    shape = graph.node(sink).shape
    return all(len(graph.node(n).shape) == len(shape) and graph.node(n).shape[0] == shape[0]
               for n, s in sinks.items() if s == sink)


def _float(node) -> np.ndarray:
    w = np.asarray(weight_of(node), np.float64)
    return np.broadcast_to(w, (node.shape[0],)).copy() if node.type == "ChannelAffine" else w


def _layer(graph: Graph, sink: str, members: list, sinks: dict, fmt: NumberFormat, host: frozenset) -> LayerPlan:
    """The layer's unit per channel and its synapses' weight exponents (``exponents.choose``)."""
    node = graph.node(sink)
    c = node.shape[0]
    channel = fmt.per_channel and not fmt.stock and _channels_ok(graph, sink, sinks)
    rows = {n.name: row_max(weight_of(n), c, channel) for n in members}
    theta = np.broadcast_to(np.asarray(node.op.threshold, np.float64), (c,)) if isinstance(node.op, IFNeuron) else None
    hi = np.full(c if channel else 1, E_MAX)
    if theta is not None:
        th = theta if channel else theta.max(keepdims=True)
        if node.op.exponent_max is not None:   # the neuron model's exponent field (SigmaDelta's state_exp)
            hi = np.minimum(hi, node.op.exponent_max)
        hi = np.minimum(hi, np.floor(np.log2(VTH_MAX / np.maximum(th, 1e-300))).astype(np.int64))
    top = max((float(r.max(initial=0)) for r in rows.values()), default=0.0)
    fill = min(exponent(top, fmt.weight_bits), int(hi.min()))
    live = np.any([r > 0 for r in rows.values()], axis=0) if rows else np.zeros(hi.shape, bool)

    on_host = fmt.fixed and theta is not None and bool(members) and all(n.name in host for n in members)

    def finalise(e):  # one exponent a layer when every live channel agrees (or per_channel is off)
        if on_host:   # a time-constant host current into IF neurons: the finest unit whose v holds 2 theta
            return np.broadcast_to(np.maximum(e, hi - 1), (c,)).copy(), channel
        per = channel and not (live.any() and np.unique(e[live]).size == 1)
        return np.broadcast_to(e if per else e.min(), (c,)).copy(), per

    chip = [n.name for n in members if n.name not in host] if fmt.fixed and fmt.per_synapse else []
    e, per, shifts = choose({n.name: _float(n) for n in members} if len(chip) > 1 else {}, rows, chip, hi,
                            fill, fmt.weight_bits, finalise)
    lay = LayerPlan(sink, e, "channel" if per else "layer", top, shifts=shifts)
    if theta is not None and fmt.fixed:
        lay.thresholds = int(np.unique(np.round(theta * 2.0 ** e)).size)
    lay.capped = _cap_cost(node.op, members, fmt, int(lay.exponents.max(initial=0)))
    return lay


def _cap_cost(op, members: list, fmt: NumberFormat, e: int) -> Optional[dict]:
    """What capping a one-exponent layer at its neuron model's ``exponent_max`` costs: the exponent its weight
    spread asks for and the largest relative weight error of its synapses there (the plan's own error, at the
    capped exponent, is ``weight_error``); None when the cap does not bite."""
    if not fmt.fixed or op.exponent_max is None:
        return None
    want = exponent(max((float(np.abs(np.asarray(weight_of(n))).max(initial=0)) for n in members), default=0.0),
                    fmt.weight_bits, hi=E_MAX)
    if want <= e or e < op.exponent_max:   # the weights ask for no more, or another bound (vth) bit first
        return None
    err = max(relative_error(w, quantise(w, want, fmt.weight_bits)[0], want)
              for w in (np.asarray(weight_of(n), np.float64) for n in members))
    return {"exponent": want, "capped_to": e, "weight_error_uncapped": round(err, 6)}


def _synapse(node, lay: LayerPlan, fmt: NumberFormat, host: bool) -> SynapsePlan:
    """b-bit mantissas at the synapse's exponent E_c - k_s; its integers in the layer's unit are q << k_s."""
    w = _float(node)
    if not fmt.fixed:
        return SynapsePlan(node.name, lay.name, w, np.int64(0), host=host)
    k = 0 if host else lay.shifts.get(node.name, 0)
    e = mantissa_exponent(lay.exponents, k, lay.scheme == "channel")
    if host:   # runs in float on the host: quantised for the estimate at no finer than its own exponent
        own = own_exponents(row_max(w, node.shape[0], np.ndim(e) > 0), fmt.weight_bits)
        e = np.minimum(e, own) if np.ndim(e) else np.minimum(e, own[0])
    q, clipped = quantise(w, e, fmt.weight_bits)
    return SynapsePlan(node.name, lay.name, q, e, relative_error(w, q, e), clipped, host, shift=k)


def _input_bits(plan: Plan) -> int:
    """Stock: the largest ib <= input_bits that keeps every graded layer's vth = theta 2**(E + ib) in 17 bits."""
    fed = {plan.sinks[s] for s in plan.graded}
    for s in fed:
        other = [n for n, p in plan.synapses.items() if p.sink == s and n not in plan.graded and not p.host]
        if other:
            raise BackendError(f"layer {s!r} sums the graded input and spikes ({other[0]!r}); stock mode "
                               f"needs one scale per layer")
    caps = [math.floor(math.log2(VTH_MAX / float(np.max(plan.graph.node(s).op.threshold))))
            - int(plan.layers[s].exponents.max()) for s in fed if isinstance(plan.graph.node(s).op, IFNeuron)]
    return int(max(0, min([plan.fmt.input_bits] + caps))) if fed else 0
