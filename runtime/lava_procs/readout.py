"""Readout accumulator: the non-spiking last layer.

Records the output current of every sample at every step,
``trace[s, tau] = I_L(t) = a_in(t) + bias`` (fixed: ``(a_in << 6) + bias``),
so the host can average any readout window D+1..T' (algorithms.md section 6).
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


class Readout(AbstractProcess):
    def __init__(self, *, shape, bias, T, depth, n, name=None):
        super().__init__(T=T, depth=depth, n=n, name=name)
        self.a_in = InPort(shape=shape)
        self.bias = Var(shape=shape, init=np.broadcast_to(bias, shape).copy())
        self.trace = Var(shape=(n, T) + tuple(shape), init=0)


class _ReadoutModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.T, self.depth, self.n = proc_params["T"], proc_params["depth"], proc_params["n"]

    def run_spk(self):
        a = self.a_in.recv()
        s, tau = window(self.time_step, self.depth, self.T, self.n)
        if s >= 0:
            self.trace[s, tau] = self.current(a) + self.bias


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyReadoutFloat(_ReadoutModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    trace: np.ndarray = LavaPyType(np.ndarray, float)

    def current(self, a):
        return a


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyReadoutFixed(_ReadoutModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int64)
    trace: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def current(self, a):
        return np.asarray(a, np.int64) << 6
