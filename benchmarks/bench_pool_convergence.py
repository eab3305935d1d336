"""Max pool over spike-driven currents: rate error against the clip-ANN per T, both pool modes.

    python -m benchmarks.bench_pool_convergence [--T 16,64,256,1024] [--n 64] [--seed 0] [--json]

One network with a single max pool fed by a spiking layer (random weights,
random inputs in [0, 1), unit thresholds, v(0) = 1/2)::

    x (3, 12, 12) -> conv 3x3 (8) -> IF n1 -> conv 3x3 (8) -> max pool 2x2 -> IF n2 -> linear (10)

Both networks differ only in the pool's mode. For every T the figure is the mean
over samples and neurons of |count(T)/T - clip(z, 0, 1)| of n2, the layer after
the pool, against the clip-ANN (the same graph under the ANN executor). The
cumulative pool's error falls like 1/T (algorithms.md section 4); the
pre-neuron pool pools each step's fluctuating current and keeps a bias
E[max_i I_i(t)] - max_i E[I_i(t)] > 0 that does not shrink with T. n1, before
the pool, is shown as a reference (identical in both modes).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from snnc.compiler.execute import run as ann_run
from snnc.compiler.ir import Conv2d, Flatten, Graph, IFNeuron, Input, Linear, MaxPool2d
from snnc.runtime.numpy_sim import simulate


def pool_net(mode: str, seed: int) -> Graph:
    rng = np.random.default_rng(seed)

    def conv(o, i, gain):
        w = rng.standard_normal((o, i, 3, 3)) * gain / np.sqrt(9 * i)
        return Conv2d(w.astype(np.float32), np.full(o, 0.05, np.float32), padding=(1, 1, 1, 1))

    def neuron(c):
        return IFNeuron(np.ones(c, np.float32), np.full(c, 0.5, np.float32))
    return Graph.build([
        ("x", Input((3, 12, 12)), []), ("c1", conv(8, 3, 1.2), ["x"]), ("n1", neuron(8), ["c1"]),
        ("c2", conv(8, 8, 1.5), ["n1"]), ("pool", MaxPool2d(mode=mode), ["c2"]), ("n2", neuron(8), ["pool"]),
        ("f", Flatten(), ["n2"]),
        ("out", Linear((rng.standard_normal((10, 288)) / 17).astype(np.float32), None), ["f"]),
    ], ["out"])


def errors(mode: str, x: np.ndarray, Ts, seed: int) -> dict:
    """{T: {layer: mean |rate - clip-ANN|}} from one run of the largest T per T (counts need separate runs)."""
    g = pool_net(mode, seed)
    ann = ann_run(g, x, keep="all")
    out = {}
    for T in Ts:
        counts = simulate(g, x, T=T, record=("counts",), show_progress=False).records["counts"]
        out[T] = {k: float(np.abs(counts[k] / T - ann[k]).mean()) for k in ("n1", "n2")}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", default="16,64,256,1024")
    p.add_argument("--n", type=int, default=64, help="random input samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    Ts = [int(t) for t in args.T.split(",")]
    x = np.random.default_rng(args.seed + 1).random((args.n, 3, 12, 12), dtype=np.float32)
    res = {m: errors(m, x, Ts, args.seed) for m in ("cumulative", "pre-neuron")}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    from snnc.cli.common import table
    rows = [[T, f"{res['cumulative'][T]['n1']:.5f}", f"{res['cumulative'][T]['n2']:.5f}",
             f"{res['pre-neuron'][T]['n2']:.5f}"] for T in Ts]
    print(f"mean |rate - clip-ANN| over {args.n} random inputs (seed {args.seed})")
    print(table(["T", "n1 (before the pool)", "n2 after a cumulative pool", "n2 after a pre-neuron pool"], rows,
                "rrrr"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
