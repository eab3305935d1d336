"""Typed records for what crosses module boundaries, with JSON as their file format.

A :class:`Record` is a frozen dataclass whose fields are the keys of one JSON
object. ``from_json`` reads an object (nested records by the field's declared
``Record`` type, ``dict[str, R]`` / ``list[R]`` element-wise), keeps keys it
does not know in ``extra`` and remembers which keys were present, so
``R.from_json(d).to_json() == d`` for every object ``d`` that ``R`` accepts:
old files keep every key, and a file written by a newer snnc loses nothing
when an older one rewrites it. A field is written when it is not None, or when
the object it was read from held it (an explicit ``null`` stays ``null``), or
when the class lists it in ``ALWAYS``. ``KEYS`` renames a field whose JSON key
is not a Python name (``{"name": "pass"}``).
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, fields
from typing import ClassVar

_OWN = ("extra", "present")


@dataclass(frozen=True)
class Record:
    extra: dict = field(default_factory=dict, kw_only=True, repr=False)     # keys this class does not know
    present: frozenset = field(default=frozenset(), kw_only=True, repr=False, compare=False)  # keys read

    ALWAYS: ClassVar[frozenset] = frozenset()   # fields written even when None
    KEYS: ClassVar[dict] = {}                   # field name -> JSON key, where they differ

    @classmethod
    def from_json(cls, d: dict):
        hints = typing.get_type_hints(cls)
        known = {cls.KEYS.get(f.name, f.name): f.name for f in fields(cls) if f.name not in _OWN}
        kw = {known[k]: _decode(hints[known[k]], v) for k, v in d.items() if k in known}
        return cls(**kw, extra={k: v for k, v in d.items() if k not in known},
                   present=frozenset(known[k] for k in d if k in known))

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _OWN or (v is None and f.name not in self.present and f.name not in self.ALWAYS):
                continue
            out[self.KEYS.get(f.name, f.name)] = _encode(v)
        return {**out, **self.extra}

    def replace(self, **changes):
        """A copy with ``changes``; a field set to None is then omitted unless listed in ``ALWAYS``."""
        gone = {k for k, v in changes.items() if v is None}
        return dataclasses.replace(self, present=self.present - gone, **changes)


def _encode(v):
    if isinstance(v, Record):
        return v.to_json()
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_encode(x) for x in v]
    return v


def _decode(hint, v):
    """``v`` as ``hint`` says: a Record from a dict, dict / list element-wise, anything else as it is."""
    if v is None:
        return None
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is typing.Union:      # Optional[X], or a Record beside plain JSON values (Union[R, str])
        rec = [a for a in args if isinstance(a, type) and issubclass(a, Record)]
        return _decode(args[0], v) if len(args) == 1 else _decode(rec[0], v) if rec and isinstance(v, dict) else v
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_json(v) if isinstance(v, dict) else v
    if origin is dict and len(args) == 2 and isinstance(v, dict):
        return {k: _decode(args[1], x) for k, x in v.items()}
    if origin is list and args and isinstance(v, list):
        return [_decode(args[0], x) for x in v]
    return v

