"""Benchmarks: run by hand (`python -m benchmarks.<name>`) or all with `make bench`.

Figures go into docs/benchmarks.md together with the command that produced them.
"""
