"""snnc: compile trained ANNs into integrate-and-fire networks for Loihi 2.

The public Python API. Names load lazily so that importing snnc pulls in
neither torch nor lava::

    import snnc
    graph = snnc.load_onnx("model.onnx")
    art = snnc.compile("model.onnx", calib="mnist", target="loihi2")

``compile`` is defined here: it loads a model file through ``snnc.frontends`` and
hands the IR graph to ``snnc.compiler.compile``, which imports no frontend.
"""
from importlib import import_module

from snnc.compiler.errors import SnncError

__version__ = "0.1.0"

_LAZY = {
    "load_onnx": ("snnc.frontends.onnx", "load_onnx"),
    "from_torch": ("snnc.frontends.torch", "from_torch"),
    "load": ("snnc.compiler.artifact", "load"),
    "Artifact": ("snnc.compiler.artifact", "Artifact"),
    "simulate": ("snnc.runtime.numpy_sim", "simulate"),
    "estimate": ("snnc.compiler.analysis.estimate", "estimate"),
}

__all__ = ["SnncError", "__version__", "compile", *_LAZY]


def compile(model, calib, target: str = "loihi2", *, weights=None, input_shape=None, **options):
    """Compile ``model`` into a calibrated integrate-and-fire network (an ``Artifact``); see ``snnc compile``.

    ``model``: an IR ``Graph``, an ONNX path or ``onnx.ModelProto``, ``torchvision:NAME`` or
    ``FILE.py:CLASS`` (with ``weights`` and ``input_shape`` for PyTorch models). ``calib``: an
    array (N, *input_shape), a ``Dataset`` or a data spec (``mnist``, .npy/.npz, image folder).
    ``options``: method (default ``auto``), iters, tol, val, batch_size, delay, pool_mode, reset, percentile and
    ``preprocessing`` ({"resize", "crop", "mean", "std"} for image folders). Options and target
    are checked before the model is loaded; the frontend loads it and
    ``snnc.compiler.compile.compile`` converts the graph (the compiler imports no frontend).
    """
    from snnc.compiler.compile import check_arguments, compile as compile_graph
    from snnc.compiler.ir import Graph
    check_arguments(target, **options)
    source = None
    if not isinstance(model, Graph):
        from snnc.frontends import load_model, source_record
        graph = load_model(model, weights=weights, input_shape=input_shape)
        model, source = graph, source_record(model, graph, weights)
    elif weights is not None or input_shape is not None:
        from snnc.compiler.errors import UsageError
        raise UsageError("weights and input_shape apply to PyTorch model specs, not to an IR Graph")
    return compile_graph(model, calib, target, source=source, **options)


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(import_module(mod), attr)
    raise AttributeError(f"module 'snnc' has no attribute {name!r}")
