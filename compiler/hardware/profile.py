"""Load and validate hardware profiles (TOML files with sourced, tagged constants).

``load_profile("loihi2")`` reads a bundled file from ``hardware_profiles/``;
``load_profile("my.toml")`` reads a user file. Every problem (unknown or
missing key, wrong type, bad unit, bad confidence tag, value outside its
range) raises :class:`HardwareError` naming the file and the key. Values are
converted to SI units; ``Profile.get(key, "low"|"nominal"|"high")`` reads them.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

from snnc.compiler.errors import HardwareError
from snnc.compiler.files import input_path, kind
from snnc.compiler.hardware import schema
from snnc.hardware_profiles import profile_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

DEFAULT_PROFILE = "loihi2"
WHICH = ("low", "nominal", "high")


@dataclass(frozen=True)
class Constant:
    key: str
    value: float                  # SI
    low: float                    # SI (== value when no range is given)
    high: float
    unit: str                     # the unit as written in the file
    raw: float                    # the value as written
    source: str
    confidence: str
    note: str = ""
    bounds: tuple = ()            # ((low source, low confidence), (high source, high confidence)) with a range

    def at(self, which: str = "nominal") -> float:
        return {"low": self.low, "nominal": self.value, "high": self.high}[which]

    @property
    def uncertain(self) -> bool:
        return self.low != self.high


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    description: str
    path: Path
    constants: dict = field(default_factory=dict)   # "section.key" -> Constant
    notes: str = ""
    mapping: str = "per-connection"   # schema.MAPPINGS: how layers are put on cores

    def has(self, key: str) -> bool:
        return key in self.constants

    def get(self, key: str, which: str = "nominal", default: Optional[float] = None) -> float:
        c = self.constants.get(key)
        if c is None:
            if default is not None:
                return default
            raise HardwareError(f"profile {self.name!r} ({self.path}) does not define {key}")
        return c.at(which)

    def at(self, key: str, which: str) -> "Profile":
        """This profile with constant ``key`` moved to its ``which`` end (the others unchanged): sensitivity."""
        c = self.constants[key]
        return replace(self, constants={**self.constants, key: replace(c, value=c.at(which))})

    def limit(self, name: str) -> Optional[int]:
        """A resource limit (``limits.<name>``) as an int, or None when the profile sets none."""
        c = self.constants.get(f"limits.{name}")
        return None if c is None else int(c.value)

    @property
    def is_snn(self) -> bool:
        return "snn" in self.kind

    @property
    def is_ann(self) -> bool:
        return "ann" in self.kind

    @property
    def has_limits(self) -> bool:
        return all(k in self.constants for k in schema.LIMITS)

    @property
    def fixed_step(self) -> bool:
        return "timing.t_step_fixed" in self.constants

    @property
    def has_timing(self) -> bool:
        return self.fixed_step or all(k in self.constants for k in schema.STEP_TIMING)

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "description": self.description, "path": str(self.path),
                "notes": self.notes, "mapping": self.mapping,
                "constants": {k: {"value": c.raw, "unit": c.unit, "si": c.value, "low_si": c.low,
                                  "high_si": c.high, "source": c.source, "confidence": c.confidence,
                                  **({"note": c.note} if c.note else {}),
                                  **({"range_sources": {w: {"source": b[0], "confidence": b[1]}
                                                        for w, b in zip(("low", "high"), c.bounds)}}
                                     if c.bounds else {})}
                              for k, c in self.constants.items()}}


def _err(path: Path, where: str, msg: str) -> HardwareError:
    return HardwareError(f"{path}: {where}: {msg}")


def _number(path, key, v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(path, key, f"{what} must be a number, got {type(v).__name__} {v!r}")
    if v < 0:
        raise _err(path, key, f"{what} must be >= 0, got {v}")
    return float(v)


def _constant(path: Path, key: str, d) -> Constant:
    if not isinstance(d, dict):
        raise _err(path, key, "must be a table with value, unit, source, confidence")
    unknown = set(d) - schema.CONSTANT_FIELDS
    if unknown:
        raise _err(path, key, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(schema.CONSTANT_FIELDS)}")
    for f in ("value", "unit", "source", "confidence"):
        if f not in d:
            raise _err(path, key, f"missing field {f!r}")
    dim, _ = schema.KEYS[key]
    value = _number(path, key, d["value"], "value")
    if dim in schema.INTEGER_DIMENSIONS and key in schema.ZERO_ALLOWED and not isinstance(d["value"], int):
        raise _err(path, key, f"value must be a non-negative integer, got {d['value']!r}")
    if dim in schema.INTEGER_DIMENSIONS and key not in schema.ZERO_ALLOWED and (
            not isinstance(d["value"], int) or value <= 0):
        raise _err(path, key, f"value must be a positive integer, got {d['value']!r}")
    units = schema.UNITS[dim]
    if d["unit"] not in units:
        raise _err(path, key, f"bad unit {d['unit']!r} for a {dim}; use one of {list(units)}")
    if d["confidence"] not in schema.CONFIDENCE:
        raise _err(path, key, f"bad confidence tag {d['confidence']!r}; use one of {list(schema.CONFIDENCE)}")
    for f in ("source", "note"):
        if not isinstance(d.get(f, ""), str) or (f == "source" and not d[f].strip()):
            raise _err(path, key, f"{f} must be a non-empty string")
    low = high = value
    bounds = ()
    if "range" in d:
        r = d["range"]
        if not isinstance(r, list) or len(r) != 2:
            raise _err(path, key, f"range must be [low, high], got {r!r}")
        low, high = (_number(path, key, x, "range bound") for x in r)
        if low > high:
            raise _err(path, key, f"range [{low}, {high}]: its low bound exceeds its high bound (write [low, high])")
        if not low <= value <= high:
            raise _err(path, key, f"range [{low}, {high}] does not contain the value {value}")
        bounds = _bounds(path, key, d)
    elif set(d) & set(schema.BOUND_FIELDS):
        raise _err(path, key, f"{sorted(set(d) & set(schema.BOUND_FIELDS))} need a range")
    f = units[d["unit"]]
    return Constant(key, value * f, low * f, high * f, d["unit"], value, d["source"], d["confidence"],
                    d.get("note", ""), bounds)


def _bounds(path: Path, key: str, d: dict) -> tuple:
    """Each range bound's own source and confidence (an assumed bound's source says why it was chosen)."""
    out = []
    for w in ("low", "high"):
        src, conf = d.get(f"{w}_source"), d.get(f"{w}_confidence")
        if not isinstance(src, str) or not src.strip():
            raise _err(path, key, f"range bound {w}: missing field '{w}_source' (where the {w} bound comes from, "
                                  "or why it was assumed)")
        if conf not in schema.CONFIDENCE:
            raise _err(path, key, f"range bound {w}: bad or missing '{w}_confidence' {conf!r}; use one of "
                                  f"{list(schema.CONFIDENCE)}")
        out.append((src, conf))
    return tuple(out)


def _constants(path: Path, doc: dict) -> dict:
    out = {}
    for section in schema.SECTIONS:
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise _err(path, section, "must be a table of constants")
        for name, d in table.items():
            key = f"{section}.{name}"
            if key not in schema.KEYS:
                known = [k for k in schema.KEYS if k.startswith(section + ".")]
                raise _err(path, key, f"unknown key; known {section} keys: {known}")
            out[key] = _constant(path, key, d)
    return out


def parse_profile(doc: dict, path: Path) -> Profile:
    """Validate a parsed TOML document; raise HardwareError naming ``path`` and the key."""
    for k in doc:
        if k not in schema.TOP_LEVEL and k not in schema.SECTIONS:
            raise _err(path, k, f"unknown key; allowed: {list(schema.TOP_LEVEL) + list(schema.SECTIONS)}")
    for k, typ in schema.TOP_LEVEL.items():
        if k not in schema.OPTIONAL_TOP and k not in doc:
            raise _err(path, k, "missing key")
        if k in doc and not isinstance(doc[k], typ):
            raise _err(path, k, f"must be a {typ.__name__}, got {type(doc[k]).__name__}")
    if doc["kind"] not in schema.KINDS:
        raise _err(path, "kind", f"must be one of {list(schema.KINDS)}, got {doc['kind']!r}")
    if doc.get("mapping", "per-connection") not in schema.MAPPINGS:
        raise _err(path, "mapping", f"must be one of {list(schema.MAPPINGS)}, got {doc['mapping']!r}")
    consts = _constants(path, doc)
    for key in schema.REQUIRED[doc["kind"]]:
        if key not in consts:
            raise _err(path, key, f"missing key (required for kind {doc['kind']!r}: {schema.KEYS[key][1]})")
    p = Profile(doc["name"], doc["kind"], doc["description"], path, consts, doc.get("notes", ""),
                doc.get("mapping", "per-connection"))
    if p.mapping == "lava" and "limits.synapse_word_bits" not in consts:
        raise _err(path, "limits.synapse_word_bits", "missing key (required with mapping = \"lava\": "
                                                       f"{schema.KEYS['limits.synapse_word_bits'][1]})")
    if p.kind == "snn" and not p.has_timing:
        raise _err(path, "timing", "an snn profile needs timing.t_step_fixed or all of "
                                   f"{list(schema.STEP_TIMING)}")
    return p


def read_profile(path: Union[str, Path]) -> Profile:
    path = input_path(path, "hardware profile", HardwareError)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as e:
        raise HardwareError(f"{path}: cannot read hardware profile ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise HardwareError(f"{path}: not valid TOML ({e})") from None
    return parse_profile(doc, path)


def load_profile(name_or_path: Union[str, Path, Profile, None] = None) -> Profile:
    """A bundled profile by name (default ``loihi2``), a TOML file path, or a Profile (returned as is)."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    name = DEFAULT_PROFILE if name_or_path is None else str(name_or_path)
    if not name.strip():
        raise HardwareError(f"the hardware target/profile name is empty; choose one of "
                            f"{', '.join(sorted(profile_files()))} (or pass a path to your own .toml file)")
    files = profile_files()
    if name in files:
        return read_profile(files[name])
    if name.endswith(".toml") or kind(name) is not None:
        return read_profile(name)
    raise HardwareError(f"unknown hardware profile {name!r}; bundled profiles: {sorted(files)} "
                        "(or pass a path to your own .toml file)")


def list_profiles() -> list[Profile]:
    return [read_profile(p) for p in profile_files().values()]
