"""The conversion pipeline: one explicit list of steps, verified and logged one by one.

``PIPELINE`` runs in order; each step is a pass ``fn(graph, **options) ->
PassResult`` with the option names it takes. ``run_pipeline`` verifies the
graph after every step and records a pass log entry ``{"pass", "changes"}``
(the compile report's pass log); steps' ``info`` (calibration record) are
merged into the returned info dict.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from snnc.compiler.calibrate import calibrate
from snnc.compiler.errors import GraphError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.activations import check_activations
from snnc.compiler.passes.base import PassResult
from snnc.compiler.passes.check_snn import check_snn
from snnc.compiler.passes.fold_affine import fold_affine
from snnc.compiler.passes.fold_batchnorm import fold_batchnorm
from snnc.compiler.passes.fold_thresholds import fold_thresholds
from snnc.compiler.passes.init_membrane import init_membrane
from snnc.compiler.passes.insert_neurons import insert_neurons
from snnc.compiler.passes.pool_modes import choose_pool_modes
from snnc.compiler.passes.remove_identity import remove_identity
from snnc.compiler.passes.sigma_delta import to_sigma_delta
from snnc.compiler.passes.swap_maxpool import swap_maxpool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[..., PassResult]
    options: tuple = ()


PIPELINE: tuple[Step, ...] = (
    Step("remove_identity", remove_identity),
    Step("fold_batchnorm", fold_batchnorm),
    Step("fold_affine", fold_affine),
    Step("check_activations", check_activations),
    Step("swap_maxpool", swap_maxpool),
    Step("insert_neurons", insert_neurons, ("reset",)),
    Step("calibrate", calibrate, ("calib", "method", "iters", "batch_size", "percentile", "preprocessing",
                                     "val", "tol")),
    Step("choose_pool_modes", choose_pool_modes, ("pool_mode",)),
    Step("fold_thresholds", fold_thresholds),
    Step("init_membrane", init_membrane, ("reset",)),
    Step("sigma_delta", to_sigma_delta, ("neuron", "act_bits")),
    Step("check_snn", check_snn),
)


def steps_until(name: str, include: bool = False) -> tuple[Step, ...]:
    """The pipeline prefix before (or up to and including) step ``name``."""
    names = [s.name for s in PIPELINE]
    i = names.index(name)
    return PIPELINE[:i + 1 if include else i]


def run_pipeline(graph: Graph, steps: Optional[Sequence[Step]] = None, **options) -> tuple[Graph, list, dict]:
    """Run ``steps`` (default: all); return (graph, pass log, merged info)."""
    pass_log, info = [], {}
    for step in PIPELINE if steps is None else steps:
        kwargs = {k: options[k] for k in step.options if k in options}
        try:
            result = step.run(graph, **kwargs)
        except GraphError as e:
            raise GraphError(f"{step.name}: {e}") from None
        graph = result.graph.verify()
        pass_log.append({"pass": step.name, "changes": list(result.changes)})
        info.update(result.info)
        for c in result.changes:
            log.debug("%s: %s", step.name, c)
    return graph, pass_log, info
