"""Custom Lava Processes and their ProcessModels, and nothing else.

Lava's compiler finds a Process's models by importing the modules beside the
Process's module, so this package holds only Process/ProcessModel modules.
Every model here runs on the host CPU in simulation (``Loihi2SimCfg``), not on
Loihi cores. Each module offers a ``floating_pt`` and a bit-exact ``fixed_pt``
model; timing follows ``snnc.runtime.lava.timing``.
"""
