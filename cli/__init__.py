"""The ``snnc`` command line: one module per subcommand, listed in ``COMMANDS``.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their command runs, so
``snnc --help`` stays instant. Every ``SnncError`` is printed as one line
(``error: ...``) and the process exits with the error's documented code
(see ``snnc.compiler.errors``); an ``OSError`` (a file that cannot be read or
written) exits 3 and anything else, a bug, exits 1 with a one-line message;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Optional, Sequence

from snnc.compiler.errors import OutputError, SnncError, UsageError

# command name -> (module, one-line help); modules load lazily.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("snnc.cli.inspect_cmd", "list a model's nodes, shapes, parameters, MACs and unsupported ops"),
    "compile": ("snnc.cli.compile_cmd", "convert an ANN into a calibrated integrate-and-fire network (.snnc)"),
    "simulate": ("snnc.cli.simulate_cmd", "run the reference IF simulator (NumPy, or torch with --backend torch): accuracy vs T, spikes, SOPs"),
    "run": ("snnc.cli.run_cmd", "run a compiled network on a backend (numpy, torch or lava)"),
    "export": ("snnc.cli.export_cmd", "export a compiled network (lava-dl netx HDF5)"),
    "finetune": ("snnc.cli.finetune_cmd", "fine-tune a compiled network at small T (idsnn, snn2ann or pipe-s); needs torch"),
    "estimate": ("snnc.cli.estimate_cmd", "resources, energy, latency and FPS/W on a hardware profile"),
    "profiles": ("snnc.cli.profiles_cmd", "list the hardware profiles"),
}


# optional top-level modules -> the pyproject extra that installs them
OPTIONAL = {"torch": "torch", "torchvision": "torch", "onnxscript": "torch", "lava": "lava", "h5py": "lava",
            "psutil": "lava", "networkx": "lava", "matplotlib": "plot", "onnxruntime": "dev"}


def available_commands() -> dict[str, tuple[str, str]]:
    """Commands whose module is present in this installation."""
    out = {}
    for name, (mod, help_) in COMMANDS.items():
        if importlib.util.find_spec(mod) is not None:
            out[name] = (mod, help_)
    return out


def build_parser(load: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snnc", description="snnc: ANN to spiking network compiler for Loihi 2")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (mod, help_) in available_commands().items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        if name == load:
            module = importlib.import_module(mod)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def _version() -> str:
    from snnc import __version__
    return f"snnc {__version__}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(load=command)
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):  # "warning: ..." as the CLI prints
        logging.addLevelName(level, logging.getLevelName(level).lower())
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0 if command is None else 2
    try:
        return int(args._run(args) or 0)
    except SnncError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:  # an optional stack (torch, Lava, h5py, matplotlib) is not installed
        if debug:
            raise
        extra = OPTIONAL.get((e.name or "").split(".")[0], "dev")
        print(f"error: this command needs the Python package {e.name!r}, which is not installed; "
              f"install it with: pip install 'snnc[{extra}]' (or run `make setup`)", file=sys.stderr)
        return UsageError.exit_code
    except BrokenPipeError:  # `snnc ... | head`: the reader left; not an error of ours
        _silence_stdout()
        return 0
    except OSError as e:  # a file the command reads or writes (disk full, permissions, vanished folder)
        if debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return OutputError.exit_code
    except Exception as e:  # noqa: BLE001 - a bug: one line, the traceback only with --debug
        if debug:
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); this is a bug in snnc: "
              f"rerun with --debug for the traceback and report it", file=sys.stderr)
        return SnncError.exit_code


def _silence_stdout() -> None:
    import contextlib
    import os
    with contextlib.suppress(OSError):  # no real stdout to redirect (already closed): nothing to silence
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def entry() -> None:  # console script
    sys.exit(main())


__all__ = ["main", "COMMANDS", "UsageError"]
