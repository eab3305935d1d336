"""``snnc profiles``: list the bundled hardware profiles with their key figures and confidences.

Each uncertain constant shows its [low-high] range; every bound carries its own
source and confidence (``low_source`` / ``high_source`` in the TOML), listed
with ``--profile NAME`` and in ``--json`` (``range_sources``).
"""
from __future__ import annotations

from snnc.cli.common import print_json, table

HELP = "list the hardware profiles"
KEY_FIGURES = [("energy.e_sop", "pJ", 1e-12), ("energy.e_mac", "pJ", 1e-12), ("power.p_static_chip", "mW", 1e-3),
               ("limits.neurons_per_core", "", 1), ("limits.weight_bits", "", 1), ("limits.graded_spike_bits", "", 1),
               ("limits.cores_per_chip", "", 1)]


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output (every constant with its source)")
    p.add_argument("--profile", action="append", default=[], metavar="NAME|PATH.toml",
                   help="show (and validate) these profiles only; repeatable")


def _cell(profile, key, unit, scale) -> str:
    """value [low-high] (confidence; a bound's own confidence where it differs from the value's)."""
    c = profile.constants.get(key)
    if c is None:
        return "-"
    v = f"{c.value / scale:.3g}" if scale != 1 else f"{int(c.value):,}"
    rng = f" [{c.low / scale:.4g}-{c.high / scale:.4g}]" if c.uncertain else ""
    own = [f"{w} {b[1]}" for w, b in zip(("low", "high"), c.bounds) if b[1] != c.confidence]
    if len(own) == 2 and c.bounds[0][1] == c.bounds[1][1]:
        own = [f"range {c.bounds[0][1]}"]
    return f"{v}{rng} ({'; '.join([c.confidence] + own)})"


def _bounds(profile) -> list[str]:
    """One line per range bound: the constant, the bound and where it comes from (or why it was assumed)."""
    out = []
    for k, c in profile.constants.items():
        if not c.bounds:
            continue
        f = c.value / c.raw if c.raw else 1.0
        for w, (src, conf), x in zip(("low", "high"), c.bounds, (c.low, c.high)):
            out.append(f"  {profile.name} {k} {w} {x / f:.4g} {c.unit} ({conf}): {src}")
    return out


def _timing(profile) -> str:
    if profile.fixed_step:
        return f"fixed {profile.get('timing.t_step_fixed') * 1e3:g} ms/step"
    return "per-op" if profile.has_timing else "-"


def run(args) -> int:
    from snnc.compiler.hardware import list_profiles, load_profile
    profiles = [load_profile(p) for p in args.profile] if args.profile else list_profiles()
    if args.json:
        print_json({"profiles": [p.to_json() for p in profiles]})
        return 0
    headers = ["name", "kind"] + [f"{k.split('.')[1]}{' (' + u + ')' if u else ''}" for k, u, _ in KEY_FIGURES]
    rows = [[p.name, p.kind] + [_cell(p, *kf) for kf in KEY_FIGURES] for p in profiles]
    print(table(headers + ["timing"], [r + [_timing(p)] for r, p in zip(rows, profiles)], align="ll"))
    print("\nconfidence: measured | simulated (pre-silicon) | derived | vendor | assumed; "
          "[low-high] = range used for the estimate's low/high figures, each bound with its own source and "
          "confidence (shown where it differs from the value's); `--json` lists every source.")
    if args.profile:
        print("\nrange bounds (source, or why the bound was assumed):")
        print("\n".join(line for p in profiles for line in _bounds(p)) or "  (no uncertain constants)")
    else:
        print("`snnc profiles --profile NAME` lists the source of every range bound.")
    return 0
