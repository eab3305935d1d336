"""Average pools fused into the synapse beside them, so that both number formats can run them.

An average pool is linear, so next to a synapse it composes into one synapse
(exact; no pool process, no graded current between two synapses). Per spatial
axis, with pool kernel k_p, stride s_p, padding p_p and a Conv of kernel k,
stride s, padding p, dilation d:

(a) pool after spikes, before a synapse:  ``s -> Pool -> [Flatten] -> Linear | Conv``

    Linear:  W'[o, c, y, x] = sum_{i,j} W[o, c, i, j] P[(i, j), (y, x)]   (P: the pool on one channel,
             any padding / divisor rule), e.g. GlobalAvgPool:  W'[o, c, h, w] = W[o, c] / (H W)
    Conv:    kernel K = s_p d (k - 1) + k_p,  stride s_p s,  padding p_p + s_p p,  dilation 1,
             W'[o, i, s_p d a + u] += W[o, i, a] / (k_ph k_pw)   for u < k_p
             (needs a constant divisor, and when p > 0 the conv's zero padding must fall on pool
             windows that lie wholly in the input's zero padding)

(b) a current pooled before a neuron:  ``Conv -> Pool`` (the DenseNet transition):

    kernel K = s (k_p - 1) + d (k - 1) + 1,  stride s s_p,  padding p,  dilation 1,
    W'[o, i, s u + d a] += W[o, i, a] / (k_ph k_pw)   for u < k_p   (pool without padding;
    GlobalAvgPool2d is the pool with k_p = the conv's output size); the bias is unchanged.

Nodes the host computes (``skip``: the direct-coded input prefix) are left alone.
``fuse_avgpools`` returns the new graph and a log line per fusion and per pool left
alone with the reason; every fused op is checked against the unfused pair on random
data before it is used.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.execute import apply
from snnc.compiler.ir import Graph, Node
from snnc.compiler.ir.ops import Conv2d, Linear
from snnc.compiler.passes.base import rebuild, sole_consumer, spec_of

POOLS = ("AvgPool2d", "GlobalAvgPool2d")


def fuse_avgpools(graph: Graph, skip=frozenset()) -> tuple[Graph, list[str]]:
    """Fuse every average pool that composes with its producer Conv or its consumer synapse."""
    log: list[str] = []
    while True:
        pools = [n for n in graph if n.type in POOLS and n.name not in skip]
        done = next((r for n in pools for r in (_conv_then_pool(graph, n) or _pool_then_synapse(graph, n),)
                     if r is not None), None)
        if done is None:
            break
        graph, what = done
        log.append(what)
    log += [f"{n.name}: not fused (no Conv producer used only by it, and no Linear / Conv consumer it "
            f"composes with exactly)" for n in graph if n.type in POOLS and n.name not in skip]
    return graph, log


def _geometry(pool: Node, in_shape) -> tuple:
    """(kernel, stride, padding (t, l, b, r), divisor is constant) of an average pool on (C, H, W)."""
    if pool.type == "GlobalAvgPool2d":
        return tuple(in_shape[1:]), tuple(in_shape[1:]), (0, 0, 0, 0), True
    op = pool.op
    constant = not op.ceil_mode and (op.count_include_pad or not any(op.padding))
    return tuple(op.kernel), tuple(op.stride), tuple(op.padding), constant


def _conv_then_pool(graph: Graph, pool: Node):
    """(b): Conv -> Pool becomes one Conv named after the pool."""
    conv = graph.node(pool.inputs[0])
    if conv.type != "Conv2d" or sole_consumer(graph, conv.name) is not pool:
        return None
    kp, sp, pads, constant = _geometry(pool, conv.shape)
    if not constant or any(pads):
        return None
    op = conv.op
    o, i, kh, kw = op.weight.shape
    (s_h, s_w), (d_h, d_w) = op.stride, op.dilation
    big = np.zeros((o, i, s_h * (kp[0] - 1) + d_h * (kh - 1) + 1, s_w * (kp[1] - 1) + d_w * (kw - 1) + 1))
    for u in range(kp[0]):
        for v in range(kp[1]):
            big[:, :, s_h * u:s_h * u + d_h * (kh - 1) + 1:d_h, s_w * v:s_w * v + d_w * (kw - 1) + 1:d_w] += op.weight
    fused = Conv2d(_f32(big / (kp[0] * kp[1])), op.bias, stride=(s_h * sp[0], s_w * sp[1]), padding=op.padding,
                   groups=op.groups)
    spec = [(n, fused if n == pool.name else o_, (conv.inputs if n == pool.name else ins))
            for n, o_, ins in spec_of(graph) if n != conv.name]
    return _checked(graph, spec, [conv, pool], fused, f"{conv.name} -> {pool.name}: one Conv2d "
                    f"(kernel {big.shape[2:]}, stride {fused.stride})")


def _pool_then_synapse(graph: Graph, pool: Node):
    """(a): Pool -> [Flatten] -> Linear / Conv becomes the synapse reading the pool's input."""
    chain, nxt = [pool], sole_consumer(graph, pool.name)
    if nxt is not None and nxt.type == "Flatten":
        chain.append(nxt)
        nxt = sole_consumer(graph, nxt.name)
    if nxt is None or nxt.type not in ("Linear", "Conv2d") or (nxt.type == "Linear") != (len(chain) == 2):
        return None
    src = graph.node(pool.inputs[0])
    fused = _into_linear(pool, src.shape, nxt.op) if nxt.type == "Linear" else _into_conv(pool, src.shape, nxt.op)
    if fused is None:
        return None
    gone = {c.name for c in chain}
    spec = []
    for n, op, ins in spec_of(graph):
        if n in gone:
            continue
        if n == nxt.name:
            src_name = src.name
            if nxt.type == "Linear":  # the fused Linear reads the flattened pool input
                spec.append((chain[1].name, chain[1].op, (src.name,)))
                src_name = chain[1].name
            spec.append((n, fused, (src_name,)))
        else:
            spec.append((n, op, ins))
    return _checked(graph, spec, chain + [nxt], fused, f"{pool.name} -> {nxt.name}: pool fused into "
                    f"{nxt.type} {nxt.name!r}")


def _into_linear(pool: Node, in_shape, op: Linear) -> Linear:
    c, h, w = in_shape
    if pool.type == "GlobalAvgPool2d":
        p = np.full((1, h * w), 1.0 / (h * w))
    else:  # P^T from the pool applied to one-hot images; entries are 1 / divisor (small integers)
        pt = apply(pool.op, np.eye(h * w, dtype=np.float32).reshape(h * w, 1, h, w)).reshape(h * w, -1)
        p = np.where(pt > 0, 1.0 / np.round(1.0 / np.where(pt > 0, pt, 1.0)), 0.0).T
    wt = op.weight.astype(np.float64).reshape(op.weight.shape[0], c, p.shape[0]) @ p
    return Linear(_f32(wt.reshape(op.weight.shape[0], -1)), op.bias)


def _into_conv(pool: Node, in_shape, op: Conv2d):
    kp, sp, pp, constant = _geometry(pool, in_shape)
    ph, pw = pool.shape[1:]
    pt, pl, pb, pr = op.padding
    if not constant:
        return None
    # the conv's zero padding must be zeros of the pooled map: windows wholly in the input's padding
    if (pt or pb) and (kp[0] > sp[0] + pp[0] or ph * sp[0] - pp[0] < in_shape[1]):
        return None
    if (pl or pr) and (kp[1] > sp[1] + pp[1] or pw * sp[1] - pp[1] < in_shape[2]):
        return None
    o, i, kh, kw = op.weight.shape
    (d_h, d_w) = op.dilation
    big = np.zeros((o, i, sp[0] * d_h * (kh - 1) + kp[0], sp[1] * d_w * (kw - 1) + kp[1]))
    for a in range(kh):
        for b in range(kw):
            y, x = sp[0] * d_h * a, sp[1] * d_w * b
            big[:, :, y:y + kp[0], x:x + kp[1]] += op.weight[:, :, a, b, None, None]
    pads = (pp[0] + sp[0] * pt, pp[1] + sp[1] * pl, pp[2] + sp[0] * pb, pp[3] + sp[1] * pr)
    return Conv2d(_f32(big / (kp[0] * kp[1])), op.bias, stride=(sp[0] * op.stride[0], sp[1] * op.stride[1]),
                  padding=pads, groups=op.groups)


def _checked(graph: Graph, spec, chain: list[Node], fused, what: str):
    """(the rewritten graph, ``what``), or None when the fused op is not exactly the chain (shape or values)."""
    try:
        new = rebuild(graph, spec)
    except Exception:  # noqa: BLE001 - a composition whose shapes do not match is simply not fused
        return None
    src = graph.node(chain[0].inputs[0])
    x = np.random.default_rng(0).random((2,) + tuple(src.shape)).astype(np.float32)
    want = x
    for n in chain:
        want = apply(n.op, want)
    got = apply(fused, x.reshape((2,) + tuple(src.shape)) if fused.type == "Conv2d" else x.reshape(2, -1))
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        return None
    return new, what


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)
