"""Delay line for currents: a_out(t) = a_in(t - k), k >= 1 (zeros for the first k steps).

Aligns the short branch of a residual fan-in with the long one: every Dense or
Conv adds one step of latency, and Lava has no delayed Conv.
"""
import numpy as np

from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol


class Delay(AbstractProcess):
    def __init__(self, *, shape, k, name=None):
        super().__init__(shape=shape, k=k, name=name)
        self.a_in = InPort(shape=shape)
        self.a_out = OutPort(shape=shape)
        self.buf = Var(shape=(k,) + tuple(shape), init=0)


class _DelayModel(PyLoihiProcessModel):
    def run_spk(self):
        a = self.a_in.recv()
        i = (self.time_step - 1) % self.buf.shape[0]
        self.a_out.send(self.buf[i].copy())
        self.buf[i] = a


@implements(proc=Delay, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDelayFloat(_DelayModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    buf: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=Delay, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDelayFixed(_DelayModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    buf: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
