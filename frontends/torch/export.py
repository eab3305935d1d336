"""``nn.Module`` -> in-memory ONNX model -> snnc IR (through the ONNX frontend).

Steps, each with its own failure message:

1. refuse unsupported activations by module type (``support.check_supported``);
2. on a copy of the module in eval() mode, make adaptive average pools that
   *upsample* by an integer factor (VGG's and AlexNet's 7x7 / 6x6 pools on a
   small input) exportable: ``adaptive_avg_pool2d`` from h to k*h is exactly
   nearest-neighbour replication, which the legacy exporter can write (as
   Resize) while it refuses the adaptive pool itself;
3. run one eager forward pass on the example input (``tracing.check_forward``:
   a wrong input shape is a one-line DataError quoting torch, not an export failure);
4. export under ``torch.no_grad()`` with the legacy TorchScript exporter
   (``dynamo=False``, ``training=PRESERVE`` so BatchNormalization nodes stay for
   snnc's own BN-folding pass), falling back to the dynamo exporter
   (``torch.export``) when it fails *or warns that its trace may not hold for
   other inputs* (TracerWarning: data-dependent control flow); if both fail on
   tensor-value dependence the error says so and what to change in ``forward``
   (``tracing``); torch's log and stderr noise is kept quiet meanwhile;
5. fold the shape arithmetic the tracer records (``Shape``/``Gather``/``Div``
   feeding ``Reshape`` in channel shuffles) when onnxscript is installed;
6. ``snnc.frontends.onnx.load_onnx`` converts the ModelProto.
"""
from __future__ import annotations

import copy
import io
import logging
import re
import warnings

from snnc.compiler.errors import UnsupportedModelError, UsageError
from snnc.frontends.torch.support import check_supported
from snnc.frontends.torch.tracing import (check_forward, data_dependent, data_dependent_message,
                                          quiet_torch, record_tracer_warnings)

log = logging.getLogger(__name__)

OPSET = 17


def from_torch(module, example_input=None, name: str | None = None):
    """Convert ``module`` (an ``nn.Module``) into an snnc ``Graph``.

    ``example_input`` is a tensor / array of shape (N, *sample_shape) (or just a
    shape tuple including the batch axis); only its shape matters. Every call
    site of an activation becomes its own node (a ReLU module reused three
    times gives three neuron layers), because the exporter traces calls, not
    modules. The caller's module is not modified.
    """
    import torch
    from snnc.frontends.onnx import load_onnx

    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"from_torch expects a torch.nn.Module, got {type(module).__name__}")
    name = name or type(module).__name__
    x = example_tensor(example_input, name)
    check_supported(module, name)
    proto, exporter = to_onnx(module, x, name)
    graph = load_onnx(proto)
    return graph.with_meta(torch={"model": name, "exporter": exporter})


def example_tensor(example_input, name: str = "model"):
    """A float32 tensor of the example's shape with a batch axis of 1."""
    import numpy as np
    import torch

    if example_input is None:
        raise UsageError(f"{name}: an example input (or input shape such as 1,3,224,224) is required "
                         f"to trace the model; pass example_input / --input-shape")
    if isinstance(example_input, (tuple, list)) and all(isinstance(d, int) for d in example_input):
        shape = tuple(example_input)
    else:
        shape = tuple(np.shape(example_input))
    if len(shape) < 2 or any(d <= 0 for d in shape):
        raise UsageError(f"{name}: input shape {shape} must be (N, *sample_shape) with positive sizes, "
                         f"e.g. 1,3,224,224")
    gen = torch.Generator().manual_seed(0)
    return torch.rand((1,) + shape[1:], generator=gen)


def to_onnx(module, x, name: str = "model"):
    """Export ``module`` at input ``x``; return ``(ModelProto, exporter name)``.

    DataError if the module fails on ``x`` eagerly; UnsupportedModelError if no
    exporter produces a graph valid for every input (``tracing``).
    """
    import torch

    modes = {m: m.training for m in module.modules()}  # restored afterwards, per submodule
    model = exportable_copy(module)
    param = next(module.parameters(), None)
    x = x if param is None else x.to(param.device)
    errors, dependent = [], False
    try:
        check_forward(model, x, name)
        for exporter, fn in (("legacy", _export_legacy), ("dynamo", _export_dynamo)):
            try:
                with torch.no_grad(), quiet_torch():
                    proto = fn(model, x)
            except Exception as e:  # noqa: BLE001 - any exporter failure is reported below
                errors.append(f"{exporter} exporter: {_first_lines(e)}")
                dependent = dependent or data_dependent(e)
                continue
            if errors:
                log.info("%s: %s; used the dynamo exporter", name, errors[0])
            return fold_shapes(proto), exporter
    finally:
        for m, training in modes.items():
            m.training = training
    if dependent:
        raise UnsupportedModelError(data_dependent_message(name, type(module).__name__, errors))
    raise UnsupportedModelError(f"cannot trace/export {name} ({type(module).__name__}) to ONNX:\n  "
                                + "\n  ".join(errors)
                                + "\nmake forward() traceable (tensor inputs and outputs, no data-dependent "
                                  "Python control flow) or export the ONNX file yourself")


def exportable_copy(module):
    """An eval-mode copy with upsampling adaptive average pools replaced by exact replication."""
    import torch
    from snnc.frontends.torch.layers import ExactAdaptiveAvgPool

    if not any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in module.modules()):
        return module.eval()
    model = copy.deepcopy(module).eval()
    for path, sub in list(model.named_modules()):
        if isinstance(sub, torch.nn.AdaptiveAvgPool2d):
            parent, _, leaf = path.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, ExactAdaptiveAvgPool(sub.output_size))
    return model


def _export_legacy(model, x):
    """TorchScript tracing; a TracerWarning (the trace may not hold for other inputs) is a failure."""
    import onnx
    import torch

    buf = io.BytesIO()
    with record_tracer_warnings():
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=OPSET, input_names=["input"],
                          output_names=["output"], training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue())


def _export_dynamo(model, x):
    """``torch.export`` (non-strict, then strict), then ONNX; never draft export, which would
    specialise data-dependent branches on the example input instead of failing."""
    import torch

    first = None
    for strict in (False, True):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.export.export(model, (x,), strict=strict)
            break
        except Exception as e:  # noqa: BLE001 - the first strategy's error is the informative one
            first = first or e
    else:
        raise first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_program = torch.onnx.export(program, (x,), dynamo=True, opset_version=max(OPSET, 18),
                                         input_names=["input"], output_names=["output"], verbose=False)
    return onnx_program.model_proto


def fold_shapes(proto):
    """Constant-fold shape arithmetic (static shapes) with onnxscript if present; else return as is."""
    import onnx

    try:
        import onnx_ir as ir
        from onnxscript import optimizer
    except ImportError:  # optional: the ONNX frontend then sees the raw shape subgraphs
        return proto
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
        model = ir.serde.deserialize_model(inferred)
        optimizer.fold_constants(model)
        optimizer.remove_unused_nodes(model)
        return ir.serde.serialize_model(model)
    except Exception as e:  # noqa: BLE001 - folding is an optimisation; the ONNX frontend folds too
        log.warning("constant folding of the exported model failed (%s); importing it unfolded", e)
        return proto


def _first_lines(e: BaseException) -> str:
    """First line of an exporter error and of its cause, without terminal colour codes."""
    def first(x: BaseException) -> str:
        lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(x)).splitlines() if ln.strip()]
        return f"{getattr(x, 'label', type(x).__name__)}: {lines[0] if lines else ''}"[:400]
    return first(e) + (f" (caused by {first(e.__cause__)})" if e.__cause__ is not None else "")
