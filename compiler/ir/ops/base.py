"""The op base class, the op registry and the shape helpers every op family uses.

Array parameters are stored read-only (:meth:`Op.__post_init__` keeps a
non-writeable view), so a pass cannot change an op, or the graph it belongs
to, in place: it builds a new op with ``dataclasses.replace`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Optional, Sequence

import numpy as np

from snnc.compiler.errors import GraphError

Shape = tuple[int, ...]
Pads = tuple[int, int, int, int]  # (top, left, bottom, right)

OP_TYPES: dict[str, type["Op"]] = {}


def register(cls):
    """Class decorator: make ``cls`` known to the serializer by its name."""
    OP_TYPES[cls.__name__] = cls
    return cls


@dataclass(frozen=True, eq=False)
class Op:
    """Base op: one output, ``arity`` inputs (None: one or more)."""

    arity: ClassVar[Optional[int]] = 1
    # Traits: facts about the op that the passes, the analysis and the lowering read (adding an op is one
    # class; tests/compiler/test_op_traits.py walks every class through every consumer).
    weight_field: ClassVar[Optional[str]] = None   # its synaptic weights (None: not a synapse)
    current_path: ClassVar[bool] = False          # a current passes it on to the neuron that integrates it
    latency: ClassVar[int] = 0                    # steps it adds on Loihi / Lava (one Conv / Dense process)
    virtual: ClassVar[bool] = False               # a view of its input (no process of its own)
    spiking: ClassVar[bool] = False               # allowed in a converted SNN (``passes.check_snn``)
    shared_weights: ClassVar[bool] = False        # one kernel per channel reused at every position (Lava conv)
    gain: ClassVar[bool] = False                  # an elementwise synapse whose graded output drives more synapses
    layer_exponents: ClassVar[bool] = False       # its network runs with one weight exponent a layer (its neuron
                                                  # model holds one threshold / state exponent a layer)
    exponent_max: ClassVar[Optional[int]] = None  # a neuron model whose layer exponent is a hardware field: the
                                                  # largest it holds (the plan caps the layer's exponent there)
    netx: ClassVar[Optional[str]] = None          # its lava-dl netx HDF5 form: the layer it is ("input", "conv",
                                                  # "dense", "flatten") or the neuron that completes a conv / dense
                                                  # block ("CUBA", "SDNN"); None: netx cannot express it

    # Rules: an op that has a rule overrides its method (``has``); the base's default is what each consumer
    # does with an op that has none. ``shapes``: the input shapes, ``out``: the output shape (per sample).
    @classmethod
    def has(cls, rule: str) -> bool:
        """Whether the op defines ``rule`` (one of the methods below) instead of inheriting the default."""
        return getattr(cls, rule) is not getattr(Op, rule)

    def scale_forward(self, a: list, shapes, out) -> Optional[np.ndarray]:
        """Output scale for per-channel input scales ``a`` (``passes.scales``); default: the op does not
        commute with per-channel scaling, so its inputs must be unscaled."""
        return None

    def scale_backward(self, d: np.ndarray, shapes, out) -> Optional[list]:
        """Per-input scale that gives output scale ``d`` (NaN: channel not read); with ``scale_forward``."""
        return None

    def rescaled(self, s_in: np.ndarray, s_out: np.ndarray) -> dict:
        """A synapse's (``weight_field``) parameters, float64, with its input channels scaled by ``s_in`` and
        its outputs by ``s_out``: {field: new value} (threshold folding, ``passes.fold_thresholds``)."""
        raise TypeError(f"{self.type} is not a synapse (weight_field is None): it has no weights to rescale")

    def fanout(self, in_shape, out) -> Optional[np.ndarray]:
        """SOP (``analysis.sop``): synapses each input element drives when this op is a synapse (float64)."""
        return None

    def fanout_back(self, f: np.ndarray, shapes, out, k: int) -> Optional[np.ndarray]:
        """SOP: fan-out of input ``k`` from the fan-out ``f`` of the output, for an op that only routes."""
        return None

    def connections(self, in_shape, out) -> Optional[tuple[int, int, int]]:
        """Synapses stored on hardware (``hardware.synapses``): (total, max fan-in, max fan-out); None: none."""
        return None

    def box_back(self, box: tuple, shapes, out) -> Optional[list]:
        """Bounding box of each input read by the output ``box`` ((lo, hi) per axis; None in the list: that
        input not read); default None: every input is read whole (``hardware.partition``)."""
        return None

    def __post_init__(self):
        for f in fields(self):
            a = getattr(self, f.name)
            if isinstance(a, np.ndarray) and a.flags.writeable:
                view = a.view()
                view.setflags(write=False)
                object.__setattr__(self, f.name, view)

    @property
    def type(self) -> str:
        return type(self).__name__

    def infer(self, shapes: Sequence[Shape]) -> Shape:
        return tuple(shapes[0])

    def macs(self, shapes: Sequence[Shape], out: Shape) -> int:
        return 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}

    def attrs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not isinstance(getattr(self, f.name), np.ndarray)}

    def param_count(self) -> int:
        return int(sum(a.size for a in self.arrays().values()))

    def describe(self) -> str:
        """Short attribute summary for dumps and tables."""
        parts = []
        for k, v in self.attrs().items():
            parts.append(f"{k}={v}")
        for k, a in self.arrays().items():
            parts.append(f"{k}{list(a.shape)}")
        return ", ".join(parts)


class Pointwise:
    """Mixin for an op whose output element i reads input element i alone (activations, Add): spikes and
    boxes pass through unchanged."""

    def fanout_back(self, f, shapes, out, k):
        return f

    def box_back(self, box, shapes, out):
        return [box] * len(shapes)


@register
@dataclass(frozen=True, eq=False)
class Input(Op):
    """Graph input of a fixed per-sample shape."""

    spiking: ClassVar[bool] = True
    netx: ClassVar[Optional[str]] = "input"

    shape: Shape = ()
    arity: ClassVar[Optional[int]] = 0

    def infer(self, shapes):
        return tuple(self.shape)


def need_rank(op: Op, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        raise GraphError(f"{op.type} expects a rank-{rank} input per sample, got shape {shape}")


def shape3(op: Op, shape: Shape) -> Shape:
    need_rank(op, shape, 3)
    return tuple(shape)


def check_channels(op: Op, shape: Shape, arr: np.ndarray) -> None:
    if arr is None or arr.ndim != 1 or arr.shape[0] != shape[0]:
        got = None if arr is None else arr.shape
        raise GraphError(f"{op.type} per-channel parameter of shape {got} does not match "
                         f"{shape[0]} channels of input {tuple(shape)}")


def conv_out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1, ceil: bool = False) -> int:
    """Output length of a sliding window (ONNX/torch rule, incl. ceil_mode)."""
    span = size + p0 + p1 - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p0:  # last window must start inside input/left pad
        out -= 1
    return out
