"""``python -m snnc``: the ``snnc`` command line (``snnc.cli``), for when the console script is not on PATH."""
from snnc.cli import entry

entry()
