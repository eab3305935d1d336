"""``snnc export``: a compiled network as a lava-dl netx HDF5 file (``--format netx``).

netx networks are chains of input / conv / dense / flatten layers with CUBA
neurons (Lava's LIF: reset to zero, v(0) = 0). Layers netx cannot express (max /
average pooling, Add, Concat, ...) are reported by name. Weights get the
artifact's hardware profile's ``limits.weight_bits`` (the ``target`` it was
compiled for; ``--weight-bits`` overrides). The file differs from the compiled
SNN (reset to zero, graded input round(x * 2**input_bits), per-block
quantisation, spike-count readout): measure its accuracy by running it
(``snnc.runtime.lava.netx.run_netx``; docs/lava.md gives figures). Load it with
``lava.lib.dl.netx.hdf5.Network(net_config=PATH, input_message_bits=8, reset_interval=T, reset_offset=1)``
and feed round(x * 2**input_bits) as graded spikes every step.
"""
from __future__ import annotations

from snnc.compiler.cli.common import check_writable, print_json, table

HELP = "export a compiled network (lava-dl netx HDF5)"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--format", default="netx", choices=["netx"], help="export format (netx HDF5)")
    p.add_argument("-o", "--output", required=True, help="output file (e.g. model.net)")
    p.add_argument("--input-bits", type=int, default=7, help="graded input x -> round(x * 2**bits) (default 7)")
    p.add_argument("--weight-bits", type=int, default=None,
                   help="synaptic weight bits (default: the artifact's target profile, limits.weight_bits)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from snnc.compiler.artifact import load
    from snnc.compiler.errors import UsageError
    from snnc.runtime.lava.netx import export_netx
    if not 0 <= args.input_bits <= 16:
        raise UsageError(f"--input-bits must be in 0..16, got {args.input_bits}")
    if args.weight_bits is not None and not 2 <= args.weight_bits <= 8:
        raise UsageError(f"--weight-bits must be in 2..8 (Loihi 2 synapses), got {args.weight_bits}")
    check_writable(args.output, "netx file")
    art = load(args.model)
    bits, source = weight_bits(art, args.weight_bits)
    info = export_netx(art.snn, args.output, input_bits=args.input_bits, weight_bits=bits)
    info["weight_bits_from"] = source
    if args.json:
        print_json(info)
        return 0
    rows = [[l["layer"], l["type"], l["exponent"], f"{l['scale']:g}", l["vThMant"], "yes" if l["readout"] else ""]
            for l in info["layers"]]
    print(f"wrote {info['path']} (lava-dl netx HDF5); neurons: {info['neurons']}")
    print(f"weights: {bits} bits ({source}); input: graded spikes round(x * {info['input_scale']}) every step "
          f"(input_message_bits=8)")
    print(table(["layer", "type", "k", "scale", "vThMant", "readout"], rows, "llrrrl"))
    return 0


def weight_bits(art, override=None) -> tuple[int, str]:
    """(bits, where they come from): ``override``, else the artifact's target profile's weight_bits."""
    from snnc.compiler.hardware import load_profile
    if override is not None:
        return int(override), "--weight-bits"
    target = art.meta.get("target") or "loihi2"
    bits = load_profile(target).limit("weight_bits")
    if bits is None:
        return 8, f"profile {target!r} sets no weight_bits: 8"
    return int(bits), f"profile {target!r}"
