"""NumPy reference of exactly the arithmetic the Lava network performs (no pipeline latency).

Steps all samples at once, node by node per step, with the numbers the Lava
processes use (``numerics``): in fixed point every value is an integer --
Conv sums wrap to signed 24 bits like Lava's fixed Conv, v saturates to
+-(2**23 - 1), a_in enters v << 6, vth is used << 6, biases are added by the
integrating layer every step; every 24-bit wrap is counted (``wrapped``).
Synapses are computed in float64 / int64 (exact), not with the float32 ANN
executor. It shares only the quantised parameters with the
Lava path, not its code, so a lowering, layout or timing bug shows up as a
difference. Used to test the Lava fixed_pt run bit for bit. ``stock=True``:
Lava's LIF semantics instead (v(0) = 0, v > vth, reset to zero, u wraps at 24 bits),
and no host current: the input (fixed: round(x 2**ib)) enters the first synapses
every step, as the stock-process network does.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import apply, run as ann_run
from snnc.compiler.execute.kernels import windows
from snnc.compiler.ir import Graph
from snnc.compiler.lower import NumberFormat, make_plan
from snnc.compiler.lower.plan import V_MAX
from snnc.runtime.lava.numerics import number_format


def _wrap24(a):
    return (a + 2 ** 23) % 2 ** 24 - 2 ** 23


def conv64(op, w, x):
    """Cross-correlation of (N, C, H, W) with w (O, C/g, kh, kw) in int64 (integers) or float64, exactly."""
    x = np.asarray(x)
    dtype = np.int64 if np.issubdtype(np.asarray(w).dtype, np.integer) and np.issubdtype(x.dtype, np.integer) \
        else np.float64
    pt, pl, pb, pr = op.padding
    xp = np.ascontiguousarray(np.pad(x.astype(dtype), ((0, 0), (0, 0), (pt, pb), (pl, pr))))
    o, ig, kh, kw = w.shape
    oh, ow = op.infer([x.shape[1:]])[1:]
    win = windows(xp, (kh, kw), op.stride, op.dilation, (oh, ow))        # N, C, oh, ow, kh, kw
    g = op.groups
    cols = win.reshape(len(x), g, ig, oh * ow, kh, kw).transpose(0, 1, 3, 2, 4, 5).reshape(len(x), g, oh * ow, -1)
    wg = np.asarray(w, dtype).reshape(g, o // g, ig * kh * kw)
    y = np.matmul(cols, wg.transpose(0, 2, 1)[None])                     # N, g, oh*ow, O/g
    return y.transpose(0, 1, 3, 2).reshape(len(x), o, oh, ow)


def _full(node, bias):
    """Per-channel bias -> full per-sample shape (None stays None)."""
    if bias is None:
        return None
    b = np.asarray(bias, np.float64)
    return np.broadcast_to(b.reshape((-1,) + (1,) * (len(node.shape) - 1)), node.shape)


class Reference:
    """``stock=True``: the stock-process network (graded input into the first synapses, Lava's LIF)."""

    def __init__(self, graph: Graph, fixed: bool = False, weight_bits: int = 8, stock: bool = False, plan=None):
        plan = plan or make_plan(graph, NumberFormat(fixed, weight_bits, stock))
        stock = plan.fmt.stock
        self.plan, self.host = plan, plan.host
        self.g, self.stock = plan.graph, stock     # the graph the Lava lowering builds (pools fused)
        self.num = number_format(plan)
        self.sinks = plan.sinks
        # synapses in their layer's unit: mantissas << weight exponent (``SynapsePlan.units``)
        self.params = {n.name: self.num.synapse(n) for n in plan.graph
                       if n.op.weight_field and n.name not in plan.host}
        self.params.update({n.name: self.num.neuron(n) for n in plan.graph if n.type == "IFNeuron"})

    def run(self, x: np.ndarray, T: int):
        """Returns (trace (n, T, *out) in IR units, {layer: spikes (T,)}, {layer: saturation count});
        ``self.wrapped`` then holds {layer: elements wrapped at 24 bits} (fixed point)."""
        g, num = self.g, self.num
        self.wrapped = {k: 0 for k in dict.fromkeys(self.sinks.values())}
        on_host, frontier = self.host, self.plan.frontier
        vals = ann_run(g, np.asarray(x, np.float32), keep=frontier)
        if self.stock:  # the input itself enters the first synapses as graded spikes
            host = {k: (num.inputs(vals[k]), None) for k in frontier}
        else:           # the host computes the first layer's current once per sample
            host = {k: (num.currents(self.sinks.get(k, k), vals[k]), None) for k in frontier}
        state = {n.name: None for n in g}
        spikes = {n.name: np.zeros(T, np.int64) for n in g if n.type == "IFNeuron"}
        sat = {k: 0 for k in spikes}
        out = g.outputs[0]
        trace = []
        for t in range(T):
            v = dict(host)
            for n in g:
                if n.name in v or n.name in on_host:
                    continue
                v[n.name] = getattr(self, "_" + n.type)(n, [v[i] for i in n.inputs], state, t, spikes, sat)
            cur, bias = v[out]
            trace.append(self._integrate_readout(out, cur, bias))
        return np.stack(trace, axis=1), spikes, sat

    def _integrate_readout(self, name, cur, bias):
        b = self.num.bias(name, bias) if bias is not None else 0
        if self.num.fixed:
            return num_logits(self.num, name, (np.asarray(cur, np.int64) << 6) + b)
        return cur + b

    # -- ops: each returns (value, pending bias or None) ------------------------------
    def _Conv2d(self, n, ins, state, t, spikes, sat):
        (x, _), = ins
        w = self.params[n.name]
        y = conv64(n.op, w, x)
        return (self._wrap(n, y) if self.num.fixed else y), _full(n, n.op.bias)

    def _wrap(self, n, y):
        """Lava's fixed Conv output: signed 24-bit wrap; every wrapped element is counted per layer."""
        self.wrapped[self.sinks[n.name]] += int(np.count_nonzero((y < -2 ** 23) | (y >= 2 ** 23)))
        return _wrap24(y)

    def _Linear(self, n, ins, state, t, spikes, sat):
        (x, _), = ins
        w = self.params[n.name]
        return x @ w.T, _full(n, n.op.bias)

    def _ChannelAffine(self, n, ins, state, t, spikes, sat):
        (x, _), = ins
        w = np.broadcast_to(self.params[n.name], (n.shape[0],))
        y = x * w.reshape((-1,) + (1,) * (len(n.shape) - 1))
        if self.num.fixed and len(n.shape) == 3:  # lowered as a depthwise 1x1 Lava Conv
            y = self._wrap(n, y)
        return y, _full(n, np.broadcast_to(n.op.shift, (n.shape[0],)))

    def _IFNeuron(self, n, ins, state, t, spikes, sat):
        (a, bias), = ins
        vth, v0 = self.params[n.name]
        shp = (-1,) + (1,) * (len(n.shape) - 1)
        vth, v0 = vth.reshape(shp), v0.reshape(shp)
        b = self.num.bias(n.name, bias) if bias is not None else 0
        v = np.broadcast_to(0 if self.stock else v0, a.shape).copy() if t == 0 else state[n.name]
        if self.num.fixed:
            u = np.asarray(a, np.int64) << 6
            if self.stock:  # Lava's LIF wraps u (not v) at 24 bits
                self.wrapped[n.name] += int(np.count_nonzero((u > 2 ** 23) | (u <= -2 ** 23)))
                u = np.where(u > 2 ** 23, u - 2 ** 24, np.where(u <= -2 ** 23, u + 2 ** 24, u))
            v = v + u + b
            sat[n.name] += int(np.count_nonzero(np.abs(v) > V_MAX))
            v, vth = np.clip(v, -V_MAX, V_MAX), vth << 6
        else:
            v = v + a + b
        s = v > vth if self.stock else v >= vth
        v = v - s * vth if n.op.reset == "subtract" and not self.stock else np.where(s, 0, v)
        state[n.name] = v
        spikes[n.name][t] += int(s.sum())
        return s.astype(np.int64 if self.num.fixed else np.float64), None

    def _MaxPool2d(self, n, ins, state, t, spikes, sat):
        (a, bias), = ins
        pool = lambda z: apply(n.op, np.asarray(z, np.float64)).astype(np.float64)  # noqa: E731
        out_bias = None if bias is None else _full(n, bias[:, 0, 0])
        if n.op.mode == "pre-neuron":
            y = pool(a)
        else:
            csum, prev = state[n.name] if t else (0, 0)
            csum = csum + a
            m = pool(csum)
            y, state[n.name] = m - prev, (csum, m)
        return (np.round(y).astype(np.int64) if self.num.fixed else y), out_bias

    def _Flatten(self, n, ins, state, t, spikes, sat):
        (a, bias), = ins
        b = None if bias is None else bias.reshape(-1)
        return a.reshape(len(a), -1), b

    def _Identity(self, n, ins, state, t, spikes, sat):
        return ins[0]

    def _Add(self, n, ins, state, t, spikes, sat):
        total = sum(a for a, _ in ins)
        biases = [b for _, b in ins if b is not None]
        return total, (sum(biases) if biases else None)


def num_logits(num, name, trace):
    return num.logits(name, trace)
