"""Max pooling over input currents (host CPU), in Lava's (X=W, Y=H, C) layout.

mode 'pre-neuron':  J(t) = max_{i in window} I_i(t)
mode 'cumulative':  C_i(t) = sum_{s<=t} I_i(s),  J(t) = max_i C_i(t) - max_i C_i(t-1)
(algorithms.md section 4). The running sums restart with each sample window;
padding counts as -inf. No latency (receive, then send in the same step).
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

from snnc.compiler.execute.kernels import windows
from snnc.runtime.lava.timing import window


class MaxPoolCurrent(AbstractProcess):
    """``geometry``: dict(kernel, stride, padding (t, l, b, r), dilation, out_hw) in (H, W) order."""

    def __init__(self, *, in_shape, out_shape, geometry, mode, T, depth, n, name=None):
        super().__init__(geometry=geometry, mode=mode, T=T, depth=depth, n=n, name=name)
        self.a_in = InPort(shape=in_shape)
        self.a_out = OutPort(shape=out_shape)
        self.csum = Var(shape=in_shape, init=0)
        self.prev = Var(shape=out_shape, init=0)


class _PoolModel(PyLoihiProcessModel):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.g, self.mode, self.T, self.depth, self.n = p["geometry"], p["mode"], p["T"], p["depth"], p["n"]

    def pool(self, a):
        g = self.g
        x = np.asarray(a).transpose(2, 1, 0)[None]
        pt, pl, pb, pr = g["padding"]
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = g["kernel"], g["stride"], g["dilation"], g["out_hw"]
        eh = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (x.shape[2] + pt + pb))
        ew = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (x.shape[3] + pl + pr))
        x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb + eh), (pl, pr + ew)), constant_values=-np.inf)
        y = windows(np.ascontiguousarray(x), (kh, kw), (sh, sw), (dh, dw), (oh, ow)).max(axis=(4, 5))
        return y[0].transpose(2, 1, 0).astype(self.prev.dtype)

    def run_spk(self):
        a = self.a_in.recv()
        s, tau = window(self.time_step, self.depth, self.T, self.n)
        if s < 0:
            self.a_out.send(np.zeros(self.prev.shape))
            return
        if self.mode == "pre-neuron":
            self.a_out.send(self.pool(a))
            return
        if tau == 0:
            self.csum[:] = 0
            self.prev[:] = 0
        self.csum[:] = self.csum + a
        m = self.pool(self.csum)
        self.a_out.send(m - self.prev)
        self.prev[:] = m


@implements(proc=MaxPoolCurrent, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMaxPoolCurrentFloat(_PoolModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    csum: np.ndarray = LavaPyType(np.ndarray, float)
    prev: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=MaxPoolCurrent, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMaxPoolCurrentFixed(_PoolModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    csum: np.ndarray = LavaPyType(np.ndarray, np.int64)
    prev: np.ndarray = LavaPyType(np.ndarray, np.int64)
