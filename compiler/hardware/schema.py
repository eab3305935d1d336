"""What a hardware profile must say: keys, dimensions, units, confidence tags.

A profile is a TOML file::

    name = "loihi"
    kind = "snn"                  # "snn", "ann" or "snn+ann"
    description = "..."
    notes = "..."                 # optional: what is (not) included, caveats
    mapping = "lava"              # optional: "per-connection" (default) or "lava" (Loihi 2 as Lava maps it)

    [energy.e_sop]                # section.key
    value = 23.6
    unit = "pJ"
    range = [23.6, 35.0]          # optional [low, high], same unit, low <= value <= high
    source = "Davies et al., IEEE Micro 38(1) 2018, Table 2"
    confidence = "simulated"      # measured | simulated | derived | vendor | assumed
    note = "..."                  # optional: the reasoning behind a derived/assumed value
    low_source = "the value: Davies 2018 Table 2 minimum at 0.75 V"    # with a range: where each
    low_confidence = "simulated"                                      # bound comes from, or for an
    high_source = "assumed: ~V^2 scaling to a nominal supply voltage"  # assumed bound why it was
    high_confidence = "assumed"                                       # chosen

Every constant is converted to SI (J, s, W, bit, count) on load.
"""
from __future__ import annotations

CONFIDENCE = ("measured", "simulated", "derived", "vendor", "assumed")
KINDS = ("snn", "ann", "snn+ann")

# dimension -> {unit: factor to SI}
UNITS: dict[str, dict[str, float]] = {
    "energy": {"fJ": 1e-15, "pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0},
    "time": {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0},
    "power": {"uW": 1e-6, "mW": 1e-3, "W": 1.0},
    "memory": {"bit": 1, "byte": 8, "KiB": 8 * 1024, "MiB": 8 * 1024 ** 2},
    "bits": {"bit": 1},
    "count": {"count": 1},
}
INTEGER_DIMENSIONS = ("memory", "bits", "count")

# "section.key" -> (dimension, meaning)
KEYS: dict[str, tuple[str, str]] = {
    "energy.e_sop": ("energy", "one synaptic operation (a spike arriving at one synapse)"),
    "energy.e_nu_active": ("energy", "one update of a neuron that fires this step"),
    "energy.e_nu_idle": ("energy", "one update of a neuron that does not fire this step"),
    "energy.e_in_mac": ("energy", "one MAC of the direct-coded first layer (analog input)"),
    "energy.e_mac": ("energy", "one ANN multiply-accumulate"),
    "energy.e_add": ("energy", "one ANN addition"),
    "timing.t_sop": ("time", "time per synaptic operation on one core"),
    "timing.t_nu": ("time", "time per neuron update on one core"),
    "timing.t_sync": ("time", "barrier synchronisation at the end of a time step"),
    "timing.t_step_fixed": ("time", "fixed time step (chip throttled to a tick)"),
    "timing.t_step_overhead": ("time", "per-step management / synchronisation overhead of the runtime (embedded "
                                       "CPUs), added to every step besides the barrier t_sync"),
    "timing.t_io_byte": ("time", "host I/O: time to move one byte of input between the host and the chip "
                                 "(charged only when host I/O is included, --host-io)"),
    "energy.e_graded_op": ("energy", "one graded synaptic operation (a graded spike's payload times the weight, "
                                     "accumulated: a multiply-accumulate; sigma-delta networks)"),
    "energy.e_hop": ("energy", "routing one spike message over one mesh hop between cores"),
    "energy.e_core_step": ("energy", "one time step of one occupied core beyond its counted events (the core's "
                                     "per-step sweep of its compartments, barrier and management): charged "
                                     "cores x T"),
    "power.p_static_chip": ("power", "static (leakage + management) power per chip"),
    "limits.neurons_per_core": ("count", "neurons per core"),
    "limits.synaptic_memory_per_core": ("memory", "synaptic weight memory per core"),
    "limits.weight_bits": ("bits", "weight precision (signed, per-layer shared exponent)"),
    "limits.max_fan_in": ("count", "input axons per core"),
    "limits.max_fan_out": ("count", "fan-out edges (neuron -> destination core) per core"),
    "limits.cores_per_chip": ("count", "neuromorphic cores per chip"),
    "limits.synapse_word_bits": ("bits", "synaptic memory word (mapping = \"lava\"): a dense layer stores, per input "
                                         "axon, ceil(targets x weight_bits / word) words"),
    "limits.graded_spike_bits": ("bits", "payload of a graded spike (0: binary spikes only); > 0 lets a neuron "
                                         "whose inputs exceed a core be split into partial sums relayed as "
                                         "graded spikes (hardware.fanin)"),
}
ZERO_ALLOWED = ("limits.graded_spike_bits",)   # integer keys whose 0 is meaningful (others must be > 0)

SNN_ENERGY = ("energy.e_sop", "energy.e_nu_active", "energy.e_nu_idle", "energy.e_in_mac")
STEP_TIMING = ("timing.t_sop", "timing.t_nu", "timing.t_sync")
OPTIONAL = ("limits.synapse_word_bits",)      # keys a profile may leave out whatever its kind
LIMITS = tuple(k for k in KEYS if k.startswith("limits.") and k not in OPTIONAL)

# kind -> keys every profile of that kind must define
REQUIRED: dict[str, tuple[str, ...]] = {
    "snn": SNN_ENERGY + ("power.p_static_chip",) + LIMITS,
    "ann": ("energy.e_mac",),
    "snn+ann": SNN_ENERGY + ("energy.e_mac",),
}
TOP_LEVEL = {"name": str, "kind": str, "description": str, "notes": str, "mapping": str}
OPTIONAL_TOP = ("notes", "mapping")
# mapping -> how layers are put on cores (hardware.partition: per-connection; hardware.lava_rules: lava)
MAPPINGS = ("per-connection", "lava")
SECTIONS = ("energy", "timing", "power", "limits")
BOUND_FIELDS = ("low_source", "low_confidence", "high_source", "high_confidence")   # required with a range
CONSTANT_FIELDS = {"value", "unit", "range", "source", "confidence", "note", *BOUND_FIELDS}
