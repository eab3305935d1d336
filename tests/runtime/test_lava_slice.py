"""Lava backend and ChannelSlice: not expressible by the lowering table, so a BackendError names the node."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import BackendError
from snnc.compiler.ir import ChannelSlice, Conv2d, Flatten, Graph, IFNeuron, Input, Linear


def slice_net(rng) -> Graph:
    w = rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32)
    spec = [("x", Input((1, 4, 4)), []),
            ("c1", Conv2d(w, None, padding=(1, 1, 1, 1)), ["x"]),
            ("n1", IFNeuron(np.ones(4, np.float32), np.full(4, 0.5, np.float32)), ["c1"]),
            ("half", ChannelSlice(1, 3), ["n1"]), ("f", Flatten(), ["half"]),
            ("out", Linear(rng.normal(0, 0.5, (3, 32)).astype(np.float32), None), ["f"])]
    return Graph.build(spec, ["out"])


def test_channel_slice_names_the_node(lava, rng):
    from snnc.runtime.lava.runner import run_lava
    with pytest.raises(BackendError, match="'half'.*ChannelSlice"):
        run_lava(slice_net(rng), rng.random((2, 1, 4, 4)), 4, timeout=120)


def test_netx_export_names_the_node(lava, rng, tmp_path):
    from snnc.runtime.lava.netx import export_netx
    with pytest.raises(BackendError, match="half"):
        export_netx(slice_net(rng), tmp_path / "net.h5")
