"""SpikingJelly's simulation of an exported snnc network (run in SpikingJelly's own venv, Python >= 3.11).

    .venv-sj/bin/python benchmarks/sj_model.py NET.npz --T 32 --delay 3 --batch 64 --threads 1 --reps 3

Standalone (imports no snnc): ``bench_torch.export`` writes the folded spiking graph
as ``NET.npz`` (``spec``: the nodes as JSON, every op array as ``node/field``) and
this script builds it from SpikingJelly's multi-step ``IFNode`` (``v_threshold=1``,
``v_reset=None``: reset by subtraction; v(0) = the artifact's v_init) and torch
layers in ``layer.SeqToANNContainer`` (the (T*N) batch of SpikingJelly's
multi-step mode), with the artifact's weights. The input is the image repeated
T times (direct coding), as SpikingJelly's ann2snn examples feed it. Max pools
pool each step's current (SpikingJelly has no cumulative pool). Prints one JSON
line: seconds per timed run (after one warm-up run) and the readout predictions.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn


class Affine(nn.Module):
    def __init__(self, scale, shift):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale).reshape(-1, 1, 1))
        self.register_buffer("shift", torch.tensor(shift).reshape(-1, 1, 1))

    def forward(self, x):
        return x * self.scale + self.shift


def _sym(pads):
    pt, pl, pb, pr = pads
    if (pt, pl) != (pb, pr):
        raise SystemExit(f"asymmetric padding {pads} is not supported by this SpikingJelly export")
    return (pt, pl)


def _module(node, arrays, neuron, layer):
    """The SpikingJelly / torch module of one node (multi-step: (T, N, ...) in and out)."""
    t, a, name = node["type"], node["attrs"], node["name"]
    arr = lambda k: arrays.get(f"{name}/{k}")
    seq = layer.SeqToANNContainer
    if t == "IFNeuron":
        if not np.all(arr("threshold") == 1):
            raise SystemExit(f"node {name}: thresholds must be folded to 1")
        return neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode="m", backend="torch")
    if t == "Conv2d":
        w, b = arr("weight"), arr("bias")
        m = nn.Conv2d(w.shape[1] * a["groups"], w.shape[0], w.shape[2:], a["stride"], _sym(a["padding"]),
                      a["dilation"], a["groups"], bias=b is not None)
        m.weight.data = torch.tensor(w)
        if b is not None:
            m.bias.data = torch.tensor(b)
        return seq(m)
    if t == "Linear":
        w, b = arr("weight"), arr("bias")
        m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        m.weight.data = torch.tensor(w)
        if b is not None:
            m.bias.data = torch.tensor(b)
        return seq(m)
    if t == "MaxPool2d":
        return seq(nn.MaxPool2d(a["kernel"], a["stride"], _sym(a["padding"]), a["dilation"], ceil_mode=a["ceil_mode"]))
    if t == "AvgPool2d":
        return seq(nn.AvgPool2d(a["kernel"], a["stride"], _sym(a["padding"]), a["ceil_mode"], a["count_include_pad"]))
    if t == "ChannelAffine":
        return seq(Affine(arr("scale"), arr("shift")))
    if t == "Flatten":
        return seq(nn.Flatten())
    if t in ("Add", "Concat", "Identity"):
        return None
    raise SystemExit(f"node {name}: op {t} is not supported by this SpikingJelly export")


class SJNet(nn.Module):
    """The exported graph, node by node, in SpikingJelly's multi-step mode."""

    def __init__(self, spec, arrays):
        super().__init__()
        from spikingjelly.activation_based import layer, neuron
        self.spec = spec
        self.mods = nn.ModuleDict()
        for node in spec["nodes"][1:]:
            m = _module(node, arrays, neuron, layer)
            if m is not None:
                self.mods[node["key"]] = m
        self.v_init = {node["key"]: arrays[f"{node['name']}/v_init"] for node in spec["nodes"]
                       if node["type"] == "IFNeuron"}

    def start(self):
        """Membranes to v(0) = v_init (SpikingJelly's reset_net, then v_init per channel)."""
        from spikingjelly.activation_based import functional
        functional.reset_net(self)
        for k, v in self.v_init.items():
            self.mods[k].v = float(v[0]) if np.all(v == v[0]) else torch.tensor(v).reshape(-1, 1, 1)

    def forward(self, x_seq):
        vals = {self.spec["nodes"][0]["name"]: x_seq}
        for node in self.spec["nodes"][1:]:
            ins = [vals[s] for s in node["inputs"]]
            t = node["type"]
            if t == "Add":
                vals[node["name"]] = sum(ins[1:], ins[0])
            elif t == "Concat":
                vals[node["name"]] = torch.cat(ins, dim=2)
            elif t == "Identity":
                vals[node["name"]] = ins[0]
            else:
                vals[node["name"]] = self.mods[node["key"]](ins[0])
        return vals[self.spec["outputs"][0]]


def run(net, x, T, delay, batch):
    preds = []
    with torch.no_grad():
        for a in range(0, len(x), batch):
            net.start()
            xb = torch.tensor(x[a:a + batch])
            out = net(xb.unsqueeze(0).repeat((T,) + (1,) * xb.ndim))
            preds.append(out[delay:T].mean(0).argmax(1).numpy())
    return np.concatenate(preds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("net")
    p.add_argument("--T", type=int, default=32)
    p.add_argument("--delay", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    z = np.load(args.net)
    spec = json.loads(str(z["spec"]))
    arrays = {k: z[k] for k in z.files if k not in ("spec", "x")}
    net = SJNet(spec, arrays).eval()
    x = z["x"]
    run(net, x, args.T, args.delay, args.batch)                       # warm-up
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        preds = run(net, x, args.T, args.delay, args.batch)
        times.append(time.perf_counter() - t0)
    from importlib.metadata import version
    print(json.dumps({"seconds": times, "pred": preds.tolist(), "torch": torch.__version__,
                      "spikingjelly": version("spikingjelly"),
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
