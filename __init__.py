"""snnc: compile trained ANNs into integrate-and-fire networks for Loihi 2.

The public Python API; heavy dependencies (torch, lava) load only when used.
"""
from snnc.compiler.errors import SnncError

__version__ = "0.1.0"
__all__ = ["SnncError", "__version__"]
