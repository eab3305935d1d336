"""Spiking backends behind one interface, by name.

``get_backend(name, **options).run(model, x, T, y=None, delay=None) -> RunResult``
where ``model`` is an ``Artifact`` or an SNN ``Graph``, ``T`` an int or a list
of step counts (all read out from one run of the largest), and the result is
the neutral ``snnc.runtime.result.RunResult`` (logits and accuracy per T,
``Activity``, the backend's own record under ``details``).

* ``numpy``: the reference simulator ``snnc.runtime.numpy_sim``.
* ``torch``: ``snnc.runtime.torch_sim`` (options ``device``, ``dtype``, ``threads``,
  ``batch_size``, ``time_chunk``): the NumPy simulator's semantics in torch, on CPU
  threads or CUDA; the optional-package error names the ``torch`` extra when torch is missing.
* ``lava``: Lava on ``Loihi2SimCfg`` (options ``fixed``, ``stock``, ``weight_bits``,
  ``timeout``), see ``snnc.runtime.lava``; ``get_backend("lava")`` raises
  ``BackendError`` at once when lava-nc does not import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from snnc.compiler.errors import UsageError


@dataclass
class NumpyBackend:
    name: str = "numpy"

    def run(self, model, x, T, y=None, delay=None):
        from snnc.runtime.numpy_sim import simulate
        return simulate(model, x, T=T, y=y, delay=delay)


@dataclass
class TorchBackend:
    device: str = "cpu"
    dtype: str = "float32"
    threads: Optional[int] = None
    batch_size: int = 256
    time_chunk: Optional[int] = None
    name: str = "torch"

    def __post_init__(self):
        from snnc.runtime.torch_sim import resolve_device
        resolve_device(self.device)   # a missing CUDA device fails before any work

    def run(self, model, x, T, y=None, delay=None, show_progress=True):
        from snnc.runtime.torch_sim import simulate
        return simulate(model, x, T=T, y=y, delay=delay, device=self.device, dtype=self.dtype,
                        threads=self.threads, batch_size=self.batch_size, time_chunk=self.time_chunk,
                        show_progress=show_progress)


def _lava(**options):
    from snnc.runtime.lava.available import require_lava
    from snnc.runtime.lava.backend import LavaBackend
    require_lava()  # fail at once, in one line, when lava-nc does not import
    return LavaBackend(**options)


BACKENDS = {"numpy": lambda **o: NumpyBackend(**o), "torch": lambda **o: TorchBackend(**o), "lava": _lava}


def get_backend(name: str, **options):
    """The backend called ``name`` configured with ``options``."""
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    try:
        return BACKENDS[name](**options)
    except TypeError as e:
        raise UsageError(f"backend {name!r} does not take these options: {e}") from None
