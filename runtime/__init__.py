"""Runtimes: the NumPy reference IF simulator and the Lava backend."""
