"""Choose the spiking mode of every MaxPool2d (algorithms.md section 4).

``pre-neuron`` pools each step's input current I(t); ``cumulative`` pools the
running sums C_i(t) = sum_{s<=t} I_i(s) and feeds J(t) = max_i C_i(t) -
max_i C_i(t-1), whose time average tends to max_i z_i.

``pool_mode="auto"`` (default) picks per pool:

* ``pre-neuron`` where the pool's input is constant in time: it depends on the
  direct-coded analog input only through synaptic/linear ops (no IFNeuron
  upstream). There both modes compute the same current, and pre-neuron needs
  no state.
* ``cumulative`` elsewhere: with fluctuating (spike-driven) currents
  E[max_i I_i(t)] > max_i E[I_i(t)], a bias of the pre-neuron pool that does
  not shrink with T, whereas the cumulative pool converges to the ANN.

``pre-neuron`` / ``cumulative`` force one mode for every pool. Each decision
is recorded in ``MaxPool2d.mode`` and in the change log.
"""
from __future__ import annotations

from snnc.compiler.errors import UsageError
from snnc.compiler.ir import Graph, MaxPool2d, static_nodes
from snnc.compiler.passes.base import PassResult, rebuild, replace_op, spec_of

POOL_MODES = ("auto", "pre-neuron", "cumulative")


def choose_pool_modes(graph: Graph, pool_mode: str = "auto") -> PassResult:
    if pool_mode not in POOL_MODES:
        raise UsageError(f"pool_mode must be one of {', '.join(POOL_MODES)}, got {pool_mode!r}")
    static = static_nodes(graph)
    spec, changes = [], []
    for name, op, ins in spec_of(graph):
        if isinstance(op, MaxPool2d):
            if pool_mode != "auto":
                mode, why = pool_mode, "forced by pool_mode"
            elif ins[0] in static:
                mode, why = "pre-neuron", "input current is constant in time (direct-coded input, linear ops only)"
            else:
                mode, why = "cumulative", "input is spike-driven; the cumulative pool converges to the ANN"
            op = replace_op(op, mode=mode)
            changes.append(f"MaxPool2d {name!r}: mode {mode} ({why})")
        spec.append((name, op, ins))
    return PassResult(rebuild(graph, spec) if changes else graph, changes)
