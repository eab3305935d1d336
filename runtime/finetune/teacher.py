"""The distillation teacher's logits (IDSNN): the artifact's source ANN, or a user-given ONNX model.

The teacher is frozen and the training inputs are not augmented, so its logits
are computed once per training sample, before training, with snnc's exact
NumPy ANN executor (``snnc.compiler.execute.predict``, the project's ANN
oracle), and indexed per batch.

``--teacher model.onnx`` is imported with snnc's ONNX frontend and checked
against the artifact: the same input shape and the same number of output
classes, else a UsageError naming both shapes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from snnc.compiler.artifact import Artifact
from snnc.compiler.errors import UsageError
from snnc.compiler.ir import Graph


def load_teacher(art: Artifact, path: Optional[str]) -> tuple[Graph, str]:
    """(teacher graph, description); the artifact's ANN when ``path`` is None."""
    if path is None:
        return art.ann, "the artifact's source ANN"
    from snnc.frontends import load_model
    graph = load_model(path)
    check_teacher(art, graph, path)
    return graph, str(path)


def check_teacher(art: Artifact, teacher: Graph, name: str) -> None:
    want_in, have_in = tuple(art.snn.inputs[0].shape), tuple(teacher.inputs[0].shape) if teacher.inputs else ()
    want_out = tuple(art.snn.node(art.snn.outputs[0]).shape)
    have_out = tuple(teacher.node(teacher.outputs[0]).shape) if teacher.outputs else ()
    if len(teacher.inputs) != 1 or have_in != want_in:
        raise UsageError(f"teacher {name}: input shape {have_in} does not match the artifact's {want_in}; "
                         f"give a teacher for the same inputs")
    if have_out != want_out:
        raise UsageError(f"teacher {name}: output shape {have_out} does not match the artifact's readout "
                         f"{want_out} (one logit per class); give a teacher with the same classes")


def teacher_logits(teacher: Graph, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The teacher's logits (N, K) as float32."""
    from snnc.compiler.execute import predict
    out = [predict(teacher, x[a:a + batch_size]) for a in range(0, len(x), batch_size)]
    logits = np.concatenate(out).astype(np.float32)
    if not np.isfinite(logits).all():
        raise UsageError("the teacher's outputs contain NaN or infinite values; check the teacher model")
    return logits
