"""PyTorch / torchvision frontend: ``nn.Module`` -> snnc IR, via torch's ONNX exporter.

Why ONNX export (and not torch.fx / torch.export directly)
-----------------------------------------------------------
snnc already has one importer that must be right, the ONNX frontend, tested
op by op against onnxruntime. Exporting the module to an in-memory ONNX model
and handing it to that importer gives one conversion path for both entry
points, so a fix or a new op lands once. The legacy TorchScript exporter
(``torch.onnx.export(..., dynamo=False)``) is the default because it

* needs nothing beyond torch (no onnxscript), and is fast (about a second for
  ResNet-18);
* keeps ``BatchNormalization`` nodes (exported with ``training=PRESERVE`` on an
  eval-mode module), so snnc's own BN-folding pass does the folding and the
  compile report shows it;
* traces *calls*: a ReLU module reused at several call sites, or ``F.relu``
  called in ``forward``, becomes one ONNX ``Relu`` node per call, hence one
  neuron layer per call site, with its own thresholds.

If the legacy exporter fails, or warns that its trace may not generalise
(``TracerWarning``: data-dependent Python control flow), the dynamo exporter
(``torch.export`` based; needs onnxscript) is tried; it refuses guards on
tensor values, so data-dependent control flow is an UnsupportedModelError
naming the module, never a graph of one branch (``tracing``). Other failures
name the module and quote both exporters; a module that fails eagerly on the
example input is a DataError quoting torch. torch.fx symbolic tracing was not chosen: it records module calls
but not their resolved shapes or functional-argument values without a second
interpreter, and it fails on more real-world ``forward`` code than tracing.

The module is put in ``eval()`` mode and exported under ``torch.no_grad()``
(the caller's training flag is restored). Unsupported activations (hard-swish,
SiLU, GELU, sigmoid gates, LayerNorm, attention ...) are refused before export
with the names of the offending submodules.

Entry points: ``from_torch(module, example_input)``, ``load_model_spec(spec,
weights, input_shape)`` for ``torchvision:NAME`` / ``FILE.py:CLASS`` (the latter
imports and runs the user's file), ``calibrate_bn_stats(module, data)``.
"""
from snnc.frontends.torch.bn_stats import calibrate_bn_stats
from snnc.frontends.torch.export import from_torch, to_onnx
from snnc.frontends.torch.spec import build_module, load_model_spec, parse_input_shape, spec_to_onnx
from snnc.frontends.torch.support import UNSUPPORTED, check_supported
from snnc.frontends.torch.weights import load_weights, read_state_dict

__all__ = ["from_torch", "to_onnx", "load_model_spec", "spec_to_onnx", "build_module", "parse_input_shape",
           "calibrate_bn_stats", "check_supported", "UNSUPPORTED", "load_weights", "read_state_dict"]
