"""Reference NumPy integrate-and-fire simulator (algorithms.md sections 1, 4, 6, 7).

``simulate(artifact_or_graph, x, T=(8, 16, 32), y=labels)`` runs the largest T
once and returns a :class:`SimResult` with the readout for every T, accuracy,
and an :class:`~snnc.compiler.analysis.activity.Activity` (spikes and exact
SOPs per layer and step) for the estimator. ``reference.step_by_step`` is the
naive one-step-at-a-time oracle used by the tests and benchmarks. ``check_memory``
says before any work whether a run fits in memory (or raises the SimulationError).
Sigma-delta networks (``--neuron sigma-delta``) run in ``sigma_delta`` behind
the same ``simulate``.
"""
from snnc.runtime.numpy_sim.simulate import SimResult, check_memory, parse_T, simulate

__all__ = ["simulate", "check_memory", "SimResult", "parse_T"]
