"""Lava backend: the SNN graph as Lava processes on ``Loihi2SimCfg`` (floating or fixed point).

* ``lower`` / ``lower_ops``: the lowering table ``{op class: lower function}``
  (Conv2d -> Conv with flipped, (O, kW, kH, I) kernels; Linear -> Dense;
  IFNeuron -> neuron + spike counter; MaxPool2d -> a pool over currents;
  Add -> fan-in with the shorter branches delayed; Flatten -> port transpose +
  reshape; unfused average pools -> depthwise Conv; the readout).
* ``fuse``: average pools folded into the neighbouring synapse (exact; what lets
  fixed point run GAP classifiers and DenseNet-style transitions).
* ``custom`` / ``stock``: the two process kits. Custom (default): the
  ``snnc.runtime.lava_procs`` processes (IF with reset by subtraction, host
  current source, counters, readout, delays, max pools), which run on the host
  CPU in simulation. Stock (``--stock-lif``): only lava-nc processes (RingBuffer
  source / sinks, Conv, Dense, DelayDense, LIFReset with reset to zero); what has
  no stock form (a max pool over currents) is refused by name.
* ``runner``: many samples in one run (staggered per-layer sample windows,
  ``timing``), inside the ``watchdog``; ``available``: the lava import check.
* ``numerics``: floating point or Loihi fixed point (per-layer exponents);
  ``overflow``: the static 24-bit worst case; ``reference``: the NumPy model of
  exactly the same arithmetic (both kits).
* ``backend``: the ``lava`` entry of ``snnc.runtime.backends``.
* ``netx``: lava-dl netx HDF5 export.
* sigma-delta networks: ``sigma_delta`` (stock ``lava.proc.sdn.SigmaDelta`` neurons,
  registered for ``SigmaDeltaNeuron``), ``sd_numerics`` (their float / fixed-point
  numbers), ``sd_reference`` (the NumPy model of the run), ``netx_sd`` ('SDNN' export).

Lava is imported only inside functions that need it.
"""
