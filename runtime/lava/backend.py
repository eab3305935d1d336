"""The Lava backend behind ``snnc.runtime.backends``: a Lava run as a ``SimResult``.

One Lava run of the largest T records the readout current of every sample at
every step, so every requested T is read out from it like the NumPy simulator
does (mean of I_L(t) over t = D+1..T, D the artifact's readout delay). Spike and
SOP counts per layer and step fill the same ``Activity`` record. The first
layer's MACs are done on the host once per sample (``first_layer_convention
= "once"``): the direct-coded input enters as a per-sample current; in stock
mode the graded input drives the first synapses every step ("per-step").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.compiler.analysis.activity import Activity, LayerActivity
from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import DataError
from snnc.compiler.ir import SigmaDeltaNeuron, node_macs
from snnc.compiler.lower import NumberFormat
from snnc.compiler.lower.record import plan_for
from snnc.compiler.lower.walk import graded_synapses, host_prefix


@dataclass
class LavaBackend:
    """``fixed``: Loihi fixed point (``weight_bits`` per profile); ``stock``: stock lava-nc processes only
    (Lava's LIF: reset to zero; see ``snnc.runtime.lava.stock``)."""

    fixed: bool = False
    stock: bool = False
    weight_bits: int = 8
    timeout: float = 1800.0
    name: str = "lava"

    def run(self, model, x, T, y=None, delay=None):
        from snnc.runtime.lava.runner import run_lava
        from snnc.runtime.numpy_sim import parse_T
        from snnc.runtime.result import RunResult
        from snnc.runtime.numpy_sim.simulate import readout_delays
        from snnc.runtime.lava.sigma_delta import is_sigma_delta
        graph = model.snn if isinstance(model, Artifact) else model
        Ts = parse_T(T)
        x = np.asarray(x, np.float32)
        if x.ndim < 1 or tuple(x.shape[1:]) != tuple(graph.inputs[0].shape):
            raise DataError(f"data of shape {x.shape} does not match the model input {graph.inputs[0].name!r} "
                            f"(samples of shape {graph.inputs[0].shape})")
        plan_for(model, NumberFormat(self.fixed, self.weight_bits, self.stock))  # the recorded plan is what runs
        raw = run_lava(graph, x, Ts[-1], fixed=self.fixed, stock=self.stock, weight_bits=self.weight_bits,
                       timeout=self.timeout)
        if is_sigma_delta(graph):  # the readout is a sigma: its value at step T (as ``snnc simulate``)
            delays = {t: t - 1 for t in Ts}
            logits = {t: raw.trace[:, t - 1].astype(np.float32) for t in Ts}
        else:
            delays = readout_delays(model, delay, Ts)  # the NumPy simulator's rule, warnings included
            logits = {t: raw.trace[:, delays[t]:t].mean(axis=1).astype(np.float32) for t in Ts}
        act = activity(graph, raw, len(x), Ts[-1], self.source, self.stock)
        acc = {}
        if y is not None:
            acc = {t: float(np.mean(logits[t].argmax(1) == np.asarray(y))) for t in Ts}
            act.accuracy = dict(acc)
        return RunResult(Ts, delays, logits, act, acc, details={"lava": raw})

    @property
    def source(self) -> str:
        return "lava" + ("-stock" if self.stock else "") + ("-fixed" if self.fixed else "")


def activity(graph, raw, n: int, T: int, source: str, stock: bool = False) -> Activity:
    """Custom processes: the host computes the first layer once per sample; stock: the graded input
    drives the first synapses on Lava every step (the NumPy simulator's convention)."""
    n = max(1, n)
    bits = [int(nd.op.bits) + 1 for nd in graph if isinstance(nd.op, SigmaDeltaNeuron)]
    if bits:  # sigma-delta: the host computes the first layer once per sample, sent as its change
        stock, source = False, "lava-sigma-delta" + ("-fixed" if source.endswith("-fixed") else "")
    layers = [LayerActivity(k, raw.neurons[k], (raw.spikes[k] / n).tolist(), (raw.sops[k] / n).tolist())
              for k in raw.spikes]
    first = graded_synapses(graph) if stock else host_prefix(graph)
    macs = sum(node_macs(graph, graph.node(h)) for h in first)
    out = int(np.prod(graph.node(graph.outputs[0]).shape))
    return Activity(T=T, samples=n, source=source, layers=layers, first_layer_macs=int(macs),
                    first_layer_convention="per-step" if stock else "once", output_neurons=out,
                    payload_bits=max(bits, default=1))
