"""Lava backend: the SNN graph as Lava processes on ``Loihi2SimCfg`` (floating or fixed point).

* ``lower`` / ``lower_ops``: the lowering table ``{op type: lower function}``
  (Conv2d -> Conv with flipped, (O, kW, kH, I) kernels; Linear -> Dense;
  IFNeuron -> ``IntegrateFire`` + ``SpikeCounter``; MaxPool2d -> ``MaxPoolCurrent``;
  Add -> fan-in with ``Delay`` on the shorter branches; Avg pools -> depthwise
  Conv; Flatten -> port transpose + reshape; readout -> ``Readout``).
* ``runner``: many samples in one run (staggered per-layer sample windows,
  ``timing``), inside the ``watchdog``; ``--stock-lif`` uses Lava's LIFReset.
* ``numerics``: floating point or Loihi fixed point (per-layer exponents);
  ``reference``: the NumPy model of exactly the same arithmetic.
* ``backend``: the ``lava`` entry of ``snnc.runtime.backends``.
* ``netx``: lava-dl netx HDF5 export.

The custom processes live in ``snnc.runtime.lava_procs`` and run on the host
CPU in simulation. Lava is imported only inside functions that need it.
"""
