"""Spiking backends behind one interface, by name.

``get_backend(name, **options).run(model, x, T, y=None, delay=None) -> SimResult``
where ``model`` is an ``Artifact`` or an SNN ``Graph``, ``T`` an int or a list
of step counts (all read out from one run of the largest), and the result is
the NumPy simulator's ``SimResult`` (logits and accuracy per T, ``Activity``).

* ``numpy``: the reference simulator ``snnc.runtime.numpy_sim``.
* ``lava``: Lava on ``Loihi2SimCfg`` (options ``fixed``, ``stock``, ``weight_bits``,
  ``timeout``), see ``snnc.runtime.lava``; ``get_backend("lava")`` raises
  ``BackendError`` at once when lava-nc does not import.
"""
from __future__ import annotations

from dataclasses import dataclass

from snnc.compiler.errors import UsageError


@dataclass
class NumpyBackend:
    name: str = "numpy"

    def run(self, model, x, T, y=None, delay=None):
        from snnc.runtime.numpy_sim import simulate
        return simulate(model, x, T=T, y=y, delay=delay)


def _lava(**options):
    from snnc.runtime.lava.available import require_lava
    from snnc.runtime.lava.backend import LavaBackend
    require_lava()  # fail at once, in one line, when lava-nc does not import
    return LavaBackend(**options)


BACKENDS = {"numpy": lambda **o: NumpyBackend(**o), "lava": _lava}


def get_backend(name: str, **options):
    """The backend called ``name`` configured with ``options``."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    try:
        return BACKENDS[name](**options)
    except TypeError as e:
        raise UsageError(f"backend {name!r} does not take these options: {e}") from None
