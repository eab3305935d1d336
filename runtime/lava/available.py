"""Is Lava usable here? One check, run before any work, that fails in one line.

lava-nc 0.10 installs and imports only on Python 3.10 (on 3.11 it fails at
import with a dataclass error), so ``snnc run --backend lava`` checks the
import first instead of failing after the model and the data are loaded.
"""
from __future__ import annotations

import sys

from snnc.compiler.errors import BackendError

FIX = "install lava-nc 0.10 on Python 3.10: make setup"


def require_lava() -> None:
    """Raise ``BackendError`` (one line, with the fix) when ``lava`` does not import."""
    try:
        import lava.magma.core.run_configs  # noqa: F401
    except Exception as e:  # noqa: BLE001 - any import failure makes the backend unusable
        py = ".".join(map(str, sys.version_info[:3]))
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise BackendError(f"the Lava backend is not available: `import lava` fails on Python {py} "
                           f"({type(e).__name__}: {first}); {FIX}") from None
