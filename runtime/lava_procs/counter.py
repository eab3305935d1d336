"""Per-layer spike counter: spikes and synaptic operations per local time step.

For the sample window at its depth, with s(t) the binary spikes of a layer and
``fanout`` the number of synapses each neuron drives (algorithms.md section 7)::

    spikes[tau] += sum_i s_i(t)          sops[tau] += sum_i s_i(t) * fanout_i

summed over samples (the host divides by n). Only 2T numbers leave the runtime.
"""
import numpy as np

from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.runtime.lava.timing import window


class SpikeCounter(AbstractProcess):
    def __init__(self, *, shape, fanout, T, depth, n, name=None):
        super().__init__(shape=shape, T=T, depth=depth, n=n, name=name)
        self.s_in = InPort(shape=shape)
        self.fanout = Var(shape=shape, init=np.broadcast_to(fanout, shape).copy())
        self.spikes = Var(shape=(T,), init=0)
        self.sops = Var(shape=(T,), init=0)


class _CounterModel(PyLoihiProcessModel):
    fanout: np.ndarray = LavaPyType(np.ndarray, np.int64)
    spikes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    sops: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.T, self.depth, self.n = proc_params["T"], proc_params["depth"], proc_params["n"]

    def run_spk(self):
        s_in = self.s_in.recv() != 0
        s, tau = window(self.time_step, self.depth, self.T, self.n)
        if s >= 0:
            self.spikes[tau] += int(np.count_nonzero(s_in))
            self.sops[tau] += int(self.fanout[s_in].sum())


@implements(proc=SpikeCounter, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeCounterFloat(_CounterModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)


@implements(proc=SpikeCounter, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeCounterFixed(_CounterModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
