"""Host input injection: one constant current per sample, no synapse, no latency.

The direct-coded first layer's input current I_1 = W_1 x + b_1 (and anything
computed from the analog input before the first neurons, e.g. a pre-neuron max
pool of it) is constant over a sample's T steps, so the host computes it once
per sample and this process emits ``table[s]`` at every step of sample s
(depth 0; zeros when idle). On Loihi 2 this is the per-sample bias current.
"""
import numpy as np

from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.runtime.lava.timing import window


class CurrentSource(AbstractProcess):
    """``table`` of shape (n, *shape): the current of every sample."""

    def __init__(self, *, table, T, name=None):
        n, shape = table.shape[0], table.shape[1:]
        super().__init__(T=T, n=n, name=name)
        self.a_out = OutPort(shape=shape)
        self.table = Var(shape=table.shape, init=table)


class _SourceModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.T, self.n = proc_params["T"], proc_params["n"]

    def run_spk(self):
        s, _ = window(self.time_step, 0, self.T, self.n)
        self.a_out.send(self.table[s] if s >= 0 else np.zeros_like(self.table[0]))


@implements(proc=CurrentSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyCurrentSourceFloat(_SourceModel):
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    table: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=CurrentSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCurrentSourceFixed(_SourceModel):
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    table: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
