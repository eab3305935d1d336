"""The ops of the snnc graph IR, named after the math they compute, one module per op family.

Shapes are per sample, channel first, without the batch axis: ``(C, H, W)`` for
feature maps, ``(F,)`` for vectors. Every op is a frozen dataclass; array
parameters are numpy arrays (float32, stored read-only), everything else is
JSON-serialisable. ``infer`` maps input shapes to the output shape and raises
``GraphError`` on a mismatch; ``macs`` counts multiply-accumulates per sample
(what papers call FLOPs for an ANN).

ANN semantics of each op are exactly ONNX's (see ``snnc.compiler.execute``);
:class:`IFNeuron` is the one spiking op (algorithms.md section 1).

=============  ==============================================================
module         ops
=============  ==============================================================
``base``       ``Op`` (the base class, its traits and rule defaults), ``Input``,
               ``OP_TYPES`` (the registry), the ``Pointwise`` rule mixin
``synaptic``   ``Conv2d``, ``Linear``, ``BatchNorm``, ``ChannelAffine``
``neuron``     ``ReLU``, ``Clip``, ``Identity``, ``IFNeuron``, ``SigmaDeltaNeuron``
``pooling``    ``MaxPool2d``, ``AvgPool2d``, ``GlobalAvgPool2d``, ``Resize``
``tensor``     ``Flatten``, ``Reshape``, ``ChannelPermute``, ``ChannelSlice``,
               ``Add``, ``Concat``, ``Pad``
``geometry``   index geometry the rules share: windows, channel maps,
               per-channel broadcasting (``channel_view``)
=============  ==============================================================

Facts about an op live on its class (traits; ``Op`` documents each): flags
such as ``weight_field`` or ``gain``, and rules (``scale_forward``,
``fanout``, ``connections``, ``box_back``, ...) that the passes, the SOP count
and the hardware mapping call; an op without a rule gets the consumer's
default or is refused by name.
"""
from snnc.compiler.ir.ops.base import OP_TYPES, Input, Op, Pads, Shape, conv_out, register
from snnc.compiler.ir.ops.neuron import Clip, Identity, IFNeuron, ReLU, SigmaDeltaNeuron
from snnc.compiler.ir.ops.pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d, Resize
from snnc.compiler.ir.ops.synaptic import BatchNorm, ChannelAffine, Conv2d, Linear
from snnc.compiler.ir.ops.tensor import Add, ChannelPermute, ChannelSlice, Concat, Flatten, Pad, Reshape

__all__ = ["OP_TYPES", "Op", "Shape", "Pads", "conv_out", "register", "Input", "Conv2d", "Linear", "BatchNorm",
           "ChannelAffine", "ReLU", "Clip", "Identity", "IFNeuron", "SigmaDeltaNeuron", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d",
           "Resize", "Flatten", "Reshape", "ChannelPermute", "ChannelSlice", "Add", "Concat", "Pad"]
