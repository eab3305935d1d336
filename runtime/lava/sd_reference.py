"""NumPy model of the Lava sigma-delta run (``sigma_delta``): the same stream, the same numbers, no latency.

All n samples follow each other, T steps each, with no reset, as on Lava. The
first layer's current (host-computed, ``sd_numerics``) enters as its change at
each sample's first step; every synapse maps the graded payloads it receives
(int64 in fixed point, Conv sums wrapped to signed 24 bits like Lava's fixed
Conv; float64 otherwise); a cumulative max pool keeps running sums over the
whole stream; each ``SigmaDeltaNeuron`` is lava-nc's ``SigmaDelta`` model
(``lava/proc/sdn/models.py``)::

    sigma += a;  act = max(sigma + bias * 2**state_exp, 0);  delta = act - act_prev + residue
    s = delta if |delta| >= vth * 2**state_exp else 0;  residue = delta - s;  s_out = s >> state_exp

and the readout is the last synapse's running sum plus its bias. Lava delays
layer k by k steps; every path into a node has the same depth (residual
branches are aligned), so Lava's stream is this one shifted, and sample s's
readout at local step tau is compared directly. Shares with the Lava path only
the plan's integers (``sd_numerics``), not the lowering code.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import apply, run as ann_run
from snnc.runtime.lava.reference import _full, _wrap24, conv64
from snnc.runtime.lava.sd_numerics import CHUNK, sd_numbers, sd_plan


class SDReference:
    def __init__(self, graph, fixed: bool = False, weight_bits: int = 8):
        self.plan = sd_plan(graph, fixed, weight_bits)
        self.g, self.num, self.fixed = self.plan.graph, sd_numbers(self.plan), fixed

    def run(self, x: np.ndarray, T: int):
        """(trace (n, T, *out) in IR units, {layer: graded spikes per local step (T,)}, {layer: graded ops (T,)}),
        fresh state every ``CHUNK`` samples as ``run_lava`` does."""
        parts = [self.run_stream(x[a:a + CHUNK], T) for a in range(0, len(x), CHUNK)]
        spikes = {k: sum(p[1][k] for p in parts) for k in parts[0][1]}
        ops = {k: sum(p[2][k] for p in parts) for k in parts[0][2]}
        return np.concatenate([p[0] for p in parts]), spikes, ops

    def run_stream(self, x: np.ndarray, T: int):
        """One stream of samples from a fresh state (one Lava run)."""
        from snnc.compiler.analysis.sop import fanout_maps
        g, num, plan = self.g, self.num, self.plan
        n = len(x)
        host = ann_run(g, np.asarray(x, np.float32), keep=plan.frontier)
        cur = {k: num.currents(plan.sinks.get(k, k), host[k]) for k in plan.frontier}
        change = {k: np.diff(v, axis=0, prepend=np.zeros_like(v[:1])) for k, v in cur.items()}
        fan, depth = fanout_maps(plan.source), self._depths()
        self.state: dict = {}
        layers = [nd.name for nd in g if nd.type == "SigmaDeltaNeuron"]
        spikes = {k: np.zeros(T, np.int64) for k in layers}
        ops = {k: np.zeros(T, np.int64) for k in layers}
        out, trace = g.outputs[0], []
        for t in range(n * T + depth[out]):
            s, tau = divmod(t, T)
            v = {k: ((c[s:s + 1] if tau == 0 and s < n else np.zeros_like(c[:1])), None) for k, c in change.items()}
            for nd in g:
                if nd.name in v or nd.name in plan.host:
                    continue
                v[nd.name] = self._step(nd, [v[i] for i in nd.inputs], depth)
                s, tau = divmod(t - depth[nd.name], T)
                if nd.type == "SigmaDeltaNeuron" and 0 <= s < n:
                    sent = v[nd.name][0][0] != 0
                    spikes[nd.name][tau] += int(sent.sum())
                    ops[nd.name][tau] += int(fan[nd.name][sent].sum())
            a, bias = v[out]
            acc = self.state[out] = self.state.get(out, 0) + a
            trace.append(num.logits(out, acc + (num.bias(out, bias) if bias is not None else 0)))
        tr = np.concatenate(trace)[depth[out]:]                 # sample s, step tau at s T + tau + depth
        return tr.reshape((n, T) + tr.shape[1:]), spikes, ops

    def _depths(self) -> dict:
        """Pipeline depth of every node (Lava: each synapse adds a step; an Add waits for its deepest input)."""
        d: dict = {}
        for nd in self.g:
            d[nd.name] = 0 if nd.name in self.plan.host else \
                max((d[i] for i in nd.inputs), default=0) + nd.op.latency
        return d

    def _step(self, nd, ins, depth):
        """One step of ``nd``: a synapse emits what it computed a step earlier; an Add delays its shorter inputs."""
        if nd.type == "Add":
            ins = [self._delayed((nd.name, i), v, depth[nd.name] - depth[src])
                   for i, (src, v) in enumerate(zip(nd.inputs, ins))]
        y, bias = getattr(self, "_" + nd.type)(nd, ins)
        if not nd.op.latency:
            return y, bias
        prev = self.state.get(("out", nd.name), np.zeros_like(y))
        self.state[("out", nd.name)] = y
        return prev, bias

    def _delayed(self, key, v, k: int):
        if k <= 0:
            return v
        fifo = self.state.setdefault(key, [(np.zeros_like(v[0]), v[1])] * k)
        fifo.append(v)
        return fifo.pop(0)

    def _synapse(self, nd, x, y):
        return (_wrap24(y) if self.fixed and nd.type != "Linear" else y), _full(nd, _bias_of(nd))

    def _Conv2d(self, nd, ins):
        (x, _), = ins
        return self._synapse(nd, x, conv64(nd.op, self.num.weights(nd), x))

    def _Linear(self, nd, ins):
        (x, _), = ins
        return self._synapse(nd, x, x @ np.asarray(self.num.weights(nd)).T)

    def _ChannelAffine(self, nd, ins):
        (x, _), = ins
        w = np.broadcast_to(self.num.weights(nd), (nd.shape[0],)).reshape((-1,) + (1,) * (len(nd.shape) - 1))
        y = x * w
        return (_wrap24(y) if self.fixed and len(nd.shape) == 3 else y), _full(nd, _bias_of(nd))

    def _SigmaDeltaNeuron(self, nd, ins):
        (a, bias), = ins
        p = self.num.sd_params(nd, np.zeros(nd.shape) if bias is None else bias)
        scale = 2 ** (p["spike_exp"] + p["state_exp"])
        sigma, act, res = self.state.get(nd.name, (0, 0, 0))
        sigma = sigma + a
        new = np.maximum(sigma + p["bias"] * scale, 0)
        delta = new - act + res
        s = np.where(np.abs(delta) >= p["vth"] * scale, delta, 0)
        self.state[nd.name] = (sigma, new, delta - s)
        return (np.right_shift(s, p["state_exp"]) if self.fixed else s), None

    def _MaxPool2d(self, nd, ins):
        (a, bias), = ins
        csum, prev = self.state.get(nd.name, (0, 0))
        csum = csum + a
        m = apply(nd.op, np.asarray(csum, np.float64)).astype(np.float64)
        if self.fixed:
            m = np.rint(m).astype(np.int64)
        self.state[nd.name] = (csum, m)
        return m - prev, (None if bias is None else _full(nd, bias[:, 0, 0]))

    def _Flatten(self, nd, ins):
        (a, bias), = ins
        return a.reshape(len(a), -1), (None if bias is None else bias.reshape(-1))

    def _Identity(self, nd, ins):
        return ins[0]

    def _Add(self, nd, ins):
        biases = [b for _, b in ins if b is not None]
        return sum(a for a, _ in ins), (sum(biases) if biases else None)


def _bias_of(nd):
    op = nd.op
    return np.broadcast_to(op.shift, (nd.shape[0],)) if nd.type == "ChannelAffine" else op.bias
