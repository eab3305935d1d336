"""``snnc export``: a compiled network as a lava-dl netx HDF5 file (``--format netx``).

netx networks are chains of input / conv / dense / flatten layers with CUBA
neurons (Lava's LIF: reset to zero), so the file is the stock-neuron variant of
the SNN; ``snnc run --backend lava --stock-lif`` measures its accuracy cost.
Layers netx cannot express (max / average pooling, Add, Concat, ...) are
reported by name. Load the file with
``lava.lib.dl.netx.hdf5.Network(net_config=PATH, input_message_bits=8, reset_interval=T, reset_offset=1)``
and feed round(x * 2**input_bits) as graded spikes every step.
"""
from __future__ import annotations

from snnc.compiler.cli.common import print_json, table

HELP = "export a compiled network (lava-dl netx HDF5)"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--format", default="netx", choices=["netx"], help="export format (netx HDF5)")
    p.add_argument("-o", "--output", required=True, help="output file (e.g. model.net)")
    p.add_argument("--input-bits", type=int, default=7, help="graded input x -> round(x * 2**bits) (default 7)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from snnc.compiler.artifact import load
    from snnc.compiler.errors import UsageError
    from snnc.runtime.lava.netx import export_netx
    if not 0 <= args.input_bits <= 16:
        raise UsageError(f"--input-bits must be in 0..16, got {args.input_bits}")
    art = load(args.model)
    info = export_netx(art.snn, args.output, input_bits=args.input_bits)
    if args.json:
        print_json(info)
        return 0
    rows = [[l["layer"], l["type"], l["exponent"], f"{l['scale']:g}", l["vThMant"], "yes" if l["readout"] else ""]
            for l in info["layers"]]
    print(f"wrote {info['path']} (lava-dl netx HDF5); neurons: {info['neurons']}")
    print(f"input: graded spikes round(x * {info['input_scale']}) every step (input_message_bits=8)")
    print(table(["layer", "type", "k", "scale", "vThMant", "readout"], rows, "llrrrl"))
    return 0
