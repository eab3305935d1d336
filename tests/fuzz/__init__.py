"""snnc's own fuzz suite (issue 12): mutate valid models, data and artifacts, run the real CLI and
check what every run must satisfy (runner.py). ``make fuzz`` runs ``python -m fuzz (from tests/)`` with a
long budget; tests/test_fuzz.py runs a short seeded subset in ``make test``."""
