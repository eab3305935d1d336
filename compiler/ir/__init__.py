"""snnc graph IR: typed ops named after the math, graphs of named nodes, one-file serialization."""
from snnc.compiler.ir.graph import Graph, Node, node_macs, static_nodes
from snnc.compiler.ir.ops import (
    OP_TYPES, Add, AvgPool2d, BatchNorm, ChannelAffine, ChannelPermute, ChannelSlice, Clip, Concat, Conv2d, Flatten,
    GlobalAvgPool2d, Identity, IFNeuron, Input, Linear, MaxPool2d, Op, Pad, ReLU, Reshape, Resize, Shape,
    SigmaDeltaNeuron,
)
from snnc.compiler.ir.serialize import from_bytes, load, save, to_bytes

__all__ = [
    "Graph", "Node", "node_macs", "static_nodes", "OP_TYPES", "Op", "Shape", "Input", "Conv2d", "Linear", "BatchNorm",
    "ChannelAffine", "ReLU", "Clip", "Identity", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten",
    "Reshape", "ChannelPermute", "ChannelSlice", "Add", "Concat", "Pad", "Resize", "IFNeuron", "SigmaDeltaNeuron",
    "save", "load", "to_bytes", "from_bytes",
]
