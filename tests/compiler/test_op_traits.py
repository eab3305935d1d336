"""Op traits (compiler/ir/ops): every op class walked through every consumer, which accepts it or
refuses it by name; adding an op means one class and a decision here."""
from dataclasses import fields

import pytest

from snnc.compiler.analysis import sop
from snnc.compiler.ir.ops import OP_TYPES
from snnc.compiler.passes.check_snn import SNN_OPS

# spiking ops the Lava lowering refuses (BackendError naming the node and listing what it supports)
LAVA_REFUSES = {"Reshape", "ChannelPermute", "ChannelSlice", "Concat", "Pad", "Resize"}


@pytest.mark.parametrize("name", sorted(OP_TYPES))
def test_traits_are_consistent(name):
    cls = OP_TYPES[name]
    if cls.weight_field is not None:
        assert cls.weight_field in {f.name for f in fields(cls)}, name
        assert cls.spiking and cls.latency == 1, name    # a synapse is one Conv / Dense on Lava
    if cls.current_path or cls.virtual:
        assert cls.weight_field is None, name
    assert cls.latency in (0, 1)


@pytest.mark.parametrize("name", sorted(OP_TYPES))
def test_every_consumer_accepts_or_refuses_by_name(name):
    from snnc.runtime.lava import lower_ops, sigma_delta  # noqa: F401 - fill the table (lava is imported lazily)
    from snnc.runtime.lava.lower import LOWER
    from snnc.runtime.lava.netx import NETX_OPS
    cls = OP_TYPES[name]
    assert (name in SNN_OPS) == cls.spiking
    if cls.spiking and name != "Input":   # SOP counting has a fan-out rule for every spiking op
        assert name in sop.SYNAPSES or name in sop.STRUCTURAL, name
    if cls.spiking and name not in ("Input",):
        assert (name in LOWER) != (name in LAVA_REFUSES), name
    if name in NETX_OPS:
        assert cls.spiking, name
    if not cls.spiking:   # a non-spiking op reaches Lava only as a view (Identity), never as a process
        assert name not in LOWER or cls.virtual, name
