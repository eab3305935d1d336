"""The deployment plan in the artifact: recorded at compile time, checked when a backend lowers it.

``snnc compile`` stores ``meta["deployment"]``: the fixed-point plan (custom
processes) at the target profile's weight bits (``Plan.summary``: format
version, host prefix, fused pools, per-layer exponent scheme, exponents, weight
error, clipped weights, zeroed units). A backend calls ``plan_for``, which
lowers the artifact's graph with the one lowering function and refuses an
artifact whose recorded plan disagrees with it (it was written by a different
snnc: recompile), so what the compile report promised is what runs. A version 1
record (before per-synapse weight exponents and the host-fed layer's unit) is
accepted where this lowering gives no synapse a weight exponent and the same
exponents, refused otherwise.
"""
from __future__ import annotations

from typing import Optional

from snnc.compiler.errors import ModelLoadError
from snnc.compiler.lower.plan import PLAN_VERSION, NumberFormat, Plan, make_plan


def deployment_record(graph, weight_bits: Optional[int]) -> Optional[dict]:
    """``Plan.summary`` of the fixed-point plan at ``weight_bits`` (None when the profile has no such limit
    or the width is not one Loihi fixed point runs)."""
    if not weight_bits or not 2 <= int(weight_bits) <= 9:
        return None
    return make_plan(graph, NumberFormat(True, int(weight_bits))).summary()


def plan_for(model, fmt: NumberFormat) -> Plan:
    """The plan of ``model`` (an Artifact or a Graph) in ``fmt``, checked against the artifact's record."""
    graph = getattr(model, "snn", model)
    plan = make_plan(graph, fmt)
    rec = getattr(model, "meta", {}).get("deployment")
    if rec is None or not fmt.fixed or fmt.stock or rec.get("weight_bits") != fmt.weight_bits:
        return plan
    mine = plan.summary()["layers"]
    shifted = sorted(k for k, v in mine.items() if v["shifts"])
    if rec.get("version") != PLAN_VERSION and not (rec.get("version") == 1 and not shifted):
        why = f" (it gives layer {shifted[0]!r} per-synapse weight exponents)" if shifted else ""
        raise ModelLoadError(f"the artifact records deployment plan version {rec.get('version')}, this snnc "
                             f"lowers version {PLAN_VERSION}{why}; recompile it with `snnc compile`")
    for name, want in rec.get("layers", {}).items():
        got = mine.get(name)
        for key in ("exponents", "shifts"):
            if got is None or got[key] != want.get(key, {}):
                raise ModelLoadError(f"layer {name!r}: the artifact's recorded fixed-point {key} "
                                     f"{want.get(key)} differ from this snnc's lowering "
                                     f"{None if got is None else got[key]}; recompile with `snnc compile`")
    return plan
