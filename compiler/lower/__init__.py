"""The lowering stage: spiking graph + hardware profile + number format -> one deployment plan.

``make_plan`` (``plan``) decides, once, everything hardware-specific: the host
prefix, fused average pools (``fuse``), current sinks and delay lines
(``walk``), per-layer / per-channel exponents and the quantised weights from
one rule (``quantize``). The resource estimate, the Lava backends, the Lava
reference and the netx export read the plan.
"""
from snnc.compiler.lower.plan import PLAN_VERSION, LayerPlan, NumberFormat, Plan, SynapsePlan, make_plan  # noqa: F401
