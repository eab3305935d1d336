"""Strict JSON for snnc files: non-finite floats encoded explicitly, everything round-trips exactly.

Python's ``json`` writes ``inf`` as the token ``Infinity``, which is not JSON
(other readers reject it). Here every non-finite float becomes the object
``{"$float": "inf" | "-inf" | "nan"}`` and is decoded back to the float;
finite floats are written with ``repr`` precision (exact round trip), and
``allow_nan=False`` makes any non-finite value that slipped through an error.
NumPy scalars become Python numbers and tuples become lists.
"""
from __future__ import annotations

import json
import math

import numpy as np

TAG = "$float"
_NAMES = {math.inf: "inf", -math.inf: "-inf"}
_VALUES = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def encode(v):
    """``v`` with non-finite floats tagged, numpy scalars as Python numbers, tuples as lists."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else {TAG: "nan" if math.isnan(f) else _NAMES[f]}
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, np.ndarray):
        return encode(v.tolist())
    return v


def _decode_object(d: dict):
    if len(d) == 1 and TAG in d and d[TAG] in _VALUES:
        return _VALUES[d[TAG]]
    return d


def dumps(obj, **kwargs) -> str:
    """JSON text of ``obj``; without ``indent`` Python's C encoder writes it (the pure-Python one that
    ``indent`` needs costs ~4 us per value: seconds for the artifact of a network with thousands of layers)."""
    return json.dumps(encode(obj), allow_nan=False, **kwargs)


def loads(text):
    return json.loads(text, object_hook=_decode_object)
