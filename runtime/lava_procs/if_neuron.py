"""Integrate-and-fire neurons with reset by subtraction and the >= comparison.

Per step, for the sample window the neuron is in (see ``timing.window``)::

    v <- v_init                      at the first step of each sample
    v <- v + I + bias                (fixed: v + (a_in << 6) + bias, saturated to 24 bits)
    s <- v >= vth                    (fixed: v >= vth << 6, vth a 17-bit mantissa)
    v <- v - s * vth                 (reset='subtract')   |  v <- v * (1 - s)  (reset='zero')

Outside a sample window it is idle and emits nothing. The fixed model counts
saturation events in ``sat`` (24-bit v clipped to +-(2**23 - 1)).
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

from snnc.compiler.lower.plan import V_MAX
from snnc.runtime.lava.timing import window


class IntegrateFire(AbstractProcess):
    """IF neurons of ``shape``; ``vth``, ``bias``, ``v_init`` broadcast to ``shape``."""

    def __init__(self, *, shape, vth, bias, v_init, T, depth, n, reset="subtract", name=None):
        super().__init__(shape=shape, T=T, depth=depth, n=n, reset=reset, name=name)
        full = lambda a: np.broadcast_to(np.asarray(a), shape).copy()  # noqa: E731
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=full(v_init))
        self.vth = Var(shape=shape, init=full(vth))
        self.bias = Var(shape=shape, init=full(bias))
        self.v_init = Var(shape=shape, init=full(v_init))
        self.sat = Var(shape=(1,), init=0)


class _IFModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.T, self.depth, self.n, self.reset = p["T"], p["depth"], p["n"], p["reset"]

    def run_spk(self):
        a = self.a_in.recv()
        s, tau = window(self.time_step, self.depth, self.T, self.n)
        if s < 0:
            self.s_out.send(np.zeros(self.v.shape))
            return
        if tau == 0:
            self.v[:] = self.v_init
        self.integrate(a)
        spikes = self.v >= self.threshold()
        if self.reset == "subtract":
            self.v[:] = self.v - spikes * self.threshold()
        else:
            self.v[spikes] = 0
        self.s_out.send(spikes.astype(self.v.dtype))


@implements(proc=IntegrateFire, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyIntegrateFireFloat(_IFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    v_init: np.ndarray = LavaPyType(np.ndarray, float)
    sat: np.ndarray = LavaPyType(np.ndarray, int)

    def integrate(self, a):
        self.v[:] = self.v + a + self.bias

    def threshold(self):
        return self.vth


@implements(proc=IntegrateFire, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyIntegrateFireFixed(_IFModel):
    """Loihi widths: v 24-bit (saturating), vth 17-bit used as vth << 6, a_in << 6."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=17)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)
    v_init: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    sat: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def integrate(self, a):
        v = self.v + (np.asarray(a, np.int64) << 6) + self.bias
        self.sat[0] += int(np.count_nonzero(np.abs(v) > V_MAX))
        self.v[:] = np.clip(v, -V_MAX, V_MAX)

    def threshold(self):
        return self.vth << 6
