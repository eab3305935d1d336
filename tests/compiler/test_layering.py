"""Layering (docs/architecture.md): frontends -> compiler -> runtime, with the command line (``snnc.cli``)
on top. ``snnc.compiler`` imports neither ``snnc.frontends`` nor ``snnc.runtime`` nor ``snnc.cli``; no layer
but the CLI imports the CLI; the lowering stage imports no later stage; the backends read the deployment
plan instead of re-running passes; and the ONNX compile path loads no lava, and torch only for the
calibration's convolutions when it is installed (compiler/execute/torch_conv.py; with SNNC_ENGINE=numpy never)."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

COMPILER = Path(__file__).resolve().parents[2] / "compiler"
ROOT = COMPILER.parent
FORBIDDEN = ("snnc.frontends", "snnc.runtime")


def module_name(path: Path) -> str:
    rel = path.relative_to(COMPILER.parent).with_suffix("")
    parts = ["snnc", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``: top-level, lazy (inside functions), relative,
    and ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if base else a.name) for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def test_scanner_sees_lazy_relative_and_dynamic_imports(tmp_path, monkeypatch):
    fake = tmp_path / "compiler" / "passes" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from snnc.runtime import numpy_sim\n    from ...frontends import onnx\n"
                    "    import importlib\n    importlib.import_module('snnc.frontends.torch')\n")
    monkeypatch.setattr(sys.modules[__name__], "COMPILER", tmp_path / "compiler")
    names = [m for _, m in imports(fake)]
    assert "snnc.runtime.numpy_sim" in names and "snnc.frontends.onnx" in names
    assert "snnc.frontends.torch" in names


def _violations(folder: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    """``file:line imports module`` for every import under ``ROOT/folder`` (but the ``skip`` subfolders)
    of a module starting with one of ``forbidden``."""
    files = [p for p in (ROOT / folder).rglob("*.py") if p.relative_to(ROOT / folder).parts[0] not in skip]
    assert files, folder  # the scan really walks the folder
    return [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in files for line, m in imports(p)
            if m.startswith(forbidden)]


def test_compiler_imports_no_frontend_runtime_or_cli():
    assert len(list(COMPILER.rglob("*.py"))) > 40  # the scan really walks the package
    bad = _violations("compiler", FORBIDDEN + ("snnc.cli",))
    assert not bad, "compiler/ must not import frontends, runtime or the CLI (docs/architecture.md):\n" + \
        "\n".join(bad)


def test_only_the_cli_imports_the_cli():
    bad = _violations("runtime", ("snnc.cli",)) + _violations("frontends", ("snnc.cli", "snnc.runtime"))
    assert not bad, "the command line sits on top: no layer below imports it:\n" + "\n".join(bad)


def test_the_lowering_stage_imports_no_later_stage():
    """IR -> passes -> calibration -> lowering -> analysis: the plan is made from the spiking graph alone, and
    the analysis reads it (never the other way round)."""
    bad = _violations("compiler/lower", ("snnc.compiler.analysis", "snnc.compiler.compile",
                                         "snnc.compiler.artifact", "snnc.compiler.calibrate"))
    assert not bad, "compiler/lower imports only the IR, the passes and the executor:\n" + "\n".join(bad)


def test_backends_read_the_plan_and_rerun_no_pass():
    """The simulators and the Lava backend take the compiled artifact and its deployment plan as given: no
    backend re-runs a compiler pass, the calibration or the pool fusion (fine-tuning, which re-calibrates the
    network it trains and writes a new artifact, is the one exception)."""
    bad = _violations("runtime", ("snnc.compiler.passes", "snnc.compiler.calibrate", "snnc.compiler.compile",
                                  "snnc.compiler.lower.fuse"), skip=("finetune",))
    assert not bad, "a backend reads the artifact and its plan (compiler/lower), it re-derives nothing:\n" + \
        "\n".join(bad)


PROBE = """
import json, sys
from snnc.cli import main
rc = main(sys.argv[1:])
heavy = {name: any(m == name or m.startswith(name + ".") for m in sys.modules) for name in ("torch", "lava")}
print("PROBE " + json.dumps({"rc": rc, **heavy}))
"""


def _probe(args, cwd, env=None) -> tuple[dict, str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                         env={**os.environ, **(env or {})})
    line = next(l for l in res.stdout.splitlines() if l.startswith("PROBE "))
    return json.loads(line[6:]), res.stderr


def test_inspect_and_compile_of_an_onnx_model_load_neither_torch_nor_lava(tmp_path):
    from snnc.compiler.data import example_model_path
    model = str(example_model_path())
    # raw 0-255 pixel values as float: compiles, with the CLI's "warning: ..." about normalisation
    x = np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "calib.npy", x)
    rep, _ = _probe(["inspect", model], tmp_path)
    assert rep == {"rc": 0, "torch": False, "lava": False}
    # with torch installed, the calibration's convolutions run through it (compiler/execute/torch_conv.py);
    # SNNC_ENGINE=numpy keeps the compile path to NumPy alone
    rep, err = _probe(["compile", model, "--calib", "calib.npy", "--iters", "1", "-o", "m.snnc"], tmp_path,
                      {"SNNC_ENGINE": "numpy"})
    assert rep == {"rc": 0, "torch": False, "lava": False}
    assert (tmp_path / "m.snnc").is_file()
    assert "warning: calib.npy: calibration inputs are whole numbers up to 255" in err
    assert "--normalize" in err


# op-type tables keyed by type-name strings that remain (to become traits; tracked in issue 13). A new one
# fails this test: put the fact on the op class instead (docs/architecture.md, "Where things plug in").
KNOWN_OP_TABLES = {
    "runtime/lava/netx.py": {"NETX_OPS"},
    # registries of implementations (one kernel per op, not facts about it)
    "compiler/execute/kernels.py": {"KERNELS"},
    "compiler/execute/torch_graph.py": {"TORCH_KERNELS"},
    "runtime/numpy_sim/fastops.py": {"FAST"},
    "runtime/torch_sim/lowering.py": {"LOWERING"},
}


def _op_tables(path: Path) -> set[str]:
    """Module-level names bound to a dict / set / frozenset literal with two or more op-type-name strings."""
    from snnc.compiler.ir.ops import OP_TYPES
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if not isinstance(target, ast.Name) or value is None:
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in ("frozenset", "set") and value.args:
            value = value.args[0]
        keys = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        names = [k.value for k in keys if isinstance(k, ast.Constant) and k.value in OP_TYPES]
        if len(names) >= 2:
            found.add(target.id)
    return found


def test_quantisation_fusion_and_op_tables_live_in_the_lowering_stage_and_the_op_classes():
    files = [p for d in ("compiler", "runtime") for p in (ROOT / d).rglob("*.py")]
    lower = ROOT / "compiler" / "lower"
    stray = []
    for p in files:
        rel = str(p.relative_to(ROOT))
        tree = ast.parse(p.read_text(), rel)
        if lower not in p.parents:
            stray += [f"{rel}: defines {f.name}" for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                      and f.name.startswith(("quantis", "quantiz", "fuse_"))]
        if lower in p.parents or (ROOT / "compiler" / "ir") in p.parents:
            continue
        extra = _op_tables(p) - KNOWN_OP_TABLES.get(rel, set())
        stray += [f"{rel}: op-type table {name}" for name in sorted(extra)]
    assert not stray, "quantisation and pool fusion belong to compiler/lower, op facts to the op classes:\n" + \
        "\n".join(stray)


def test_the_cli_lives_at_the_package_face():
    assert (ROOT / "cli" / "__init__.py").is_file() and not (COMPILER / "cli").exists()
