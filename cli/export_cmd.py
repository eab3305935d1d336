"""``snnc export``: a compiled network as a lava-dl netx HDF5 file (``--format netx``).

netx networks are chains of input / conv / dense / flatten layers with CUBA
neurons (Lava's LIF: reset to zero, v(0) = 0). Layers netx cannot express (max /
average pooling, Add, Concat, ...) are reported by name. Weights get the
artifact's hardware profile's ``limits.weight_bits`` (the ``target`` it was
compiled for; ``--weight-bits`` overrides). The file differs from the compiled
SNN (reset to zero, graded input round(x * 2**input_bits), per-block
quantisation, spike-count readout), so it is calibrated for that on data
(``--calib``, default: the artifact's calibration data when it is the built-in
mnist or a path that still exists; ``--calib-n`` samples, ``--T`` steps): the
hidden thresholds are refitted for reset to zero and the readout gets a common
bias shift and a threshold (``snnc.runtime.lava.netx_calibrate``); the report
gives both. Measure the file's accuracy by running it
(``snnc.runtime.lava.netx.run_netx``; docs/lava.md gives figures). Load it with
``lava.lib.dl.netx.hdf5.Network(net_config=PATH, input_message_bits=8, reset_interval=T, reset_offset=1)``,
feed round(x * 2**input_bits) as graded spikes every step and take the class with the
most output spikes (ties: the class that reached that count first).

A sigma-delta artifact (``--neuron sigma-delta``) is written as 'SDNN' blocks
(``snnc.runtime.lava.netx_sd``: no calibration, no data needed; ``--input-bits``
and ``--T`` do not apply); docs/lava.md says how to load and feed it.
"""
from __future__ import annotations

from snnc.cli.common import check_writable, print_json, table
from snnc.compiler.artifact_meta import Calibration

HELP = "export a compiled network (lava-dl netx HDF5)"


def add_arguments(p) -> None:
    p.add_argument("model", help="compiled network (.snnc from `snnc compile`)")
    p.add_argument("--format", default="netx", choices=["netx"], help="export format (netx HDF5)")
    p.add_argument("-o", "--output", required=True, help="output file (e.g. model.net)")
    p.add_argument("--input-bits", type=int, default=7, help="graded input x -> round(x * 2**bits) (default 7)")
    p.add_argument("--weight-bits", type=int, default=None,
                   help="synaptic weight bits (default: the artifact's target profile, limits.weight_bits)")
    p.add_argument("--calib", default=None, metavar="DATA",
                   help="calibration data ('mnist', a .npy/.npz file or an image folder; default: the artifact's "
                        "calibration data if it is mnist or a path that still exists)")
    p.add_argument("--calib-n", type=int, default=256, help="calibrate on the first N samples (default 256)")
    p.add_argument("--T", type=int, default=32, help="time steps per sample the file is calibrated for (default 32)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    from snnc.cli import data_options  # --resize/--crop/--mean/--std/--normalize, as compile's
    data_options.add_arguments(p, from_artifact=True)


def run(args) -> int:
    from snnc.compiler.artifact import load
    from snnc.compiler.errors import UsageError
    from snnc.runtime.lava.netx import export_netx, require_h5py
    if not 0 <= args.input_bits <= 16:
        raise UsageError(f"--input-bits must be in 0..16, got {args.input_bits}")
    if args.weight_bits is not None and not 2 <= args.weight_bits <= 8:
        raise UsageError(f"--weight-bits must be in 2..8 (Loihi 2 synapses), got {args.weight_bits}")
    if args.calib_n < 1 or args.T < 1:
        raise UsageError(f"--calib-n and --T must be positive, got {args.calib_n} and {args.T}")
    check_writable(args.output, "netx file")
    require_h5py()
    art = load(args.model)
    bits, source = weight_bits(art, args.weight_bits)
    sd = any(n.op.netx == "SDNN" for n in art.snn)   # SDNN blocks need no calibration data
    data = None if sd else calibration_data(args, art)
    info = export_netx(art.snn, args.output, input_bits=args.input_bits, weight_bits=bits,
                       calib=None if sd else data.x, T=args.T)
    info["weight_bits_from"] = source
    if info.get("sigma_delta"):   # SDNN blocks: no calibration (runtime/lava/netx_sd.py)
        return _print_sd(info, args.json)
    info["calibration"]["data"] = data.name
    if args.json:
        print_json(info)
        return 0
    rows = [[l["layer"], l["type"], l["exponent"], f"{l['scale']:g}", l["vThMant"], "yes" if l["readout"] else ""]
            for l in info["layers"]]
    print(f"wrote {info['path']} (lava-dl netx HDF5); neurons: {info['neurons']}")
    print(f"weights: {bits} bits ({source}); input: graded spikes round(x * {info['input_scale']}) every step "
          f"(input_message_bits=8)")
    print(table(["layer", "type", "k", "scale", "vThMant", "readout"], rows, "llrrrl"))
    print(calibration_lines(info["calibration"]))
    return 0


def _print_sd(info: dict, as_json: bool) -> int:
    if as_json:
        print_json(info)
        return 0
    rows = [[l["layer"], l["type"], l["exponent"], l["vThMant"], "sigma" if l["readout"] else ""] for l in info["layers"]]
    print(f"wrote {info['path']} (lava-dl netx HDF5); neurons: {info['neurons']}")
    print(f"input: round(x * 2^{info['input_bits']}) once per sample as its change (delta-encoded by the host, "
          f"input_message_bits=24, no reset); readout bias added on the host")
    print(table(["layer", "type", "unit 2^-u", "vThMant", "readout"], rows, "llrrl"))
    return 0


def calibration_data(args, art):
    """The calibration Dataset: ``--calib``, else the artifact's calibration data (mnist or an existing path)."""
    from pathlib import Path
    from types import SimpleNamespace
    from snnc.cli import data_options
    from snnc.compiler.data import load_data
    from snnc.compiler.errors import UsageError
    spec = args.calib
    if spec is None:
        stored = str((art.info.calibration or Calibration()).data or "")
        if not (stored == "mnist" or stored.startswith("mnist:") or (stored and Path(stored).exists())):
            raise UsageError(f"{args.model}: the netx readout is calibrated on data, and the artifact's calibration "
                             f"data ({repr(stored) if stored else 'not recorded'}) is not the built-in mnist or an existing path; "
                             f"give it with --calib DATA (.npy/.npz, an image folder or mnist)")
        spec = stored
    kwargs = data_options.load_kwargs(SimpleNamespace(**{**vars(args), "data": spec}), art.meta)
    return load_data(spec, input_shape=art.snn.inputs[0].shape, split="train", n=args.calib_n, **kwargs)


def calibration_lines(cal: dict) -> str:
    """The calibration record as text: data, hidden threshold factors, readout shift and threshold."""
    r = cal["readout"]
    hidden = ", ".join(f"{k} x{v['factor']:g} (vThMant {v['vThMant']})"
                       for k, v in cal.get("hidden", {}).get("layers", {}).items())
    lines = [f"calibrated on {cal['data']} ({cal['samples']} samples) for T={cal['T']} steps per sample"]
    if hidden:
        lines.append(f"hidden thresholds for reset to zero: {hidden}; mean readout current vs clip-ANN logits: "
                     f"MSE {cal['hidden']['mse_before']:.4f} -> {cal['hidden']['mse_after']:.4f}")
    lines.append(f"readout: bias shift {r['shift']:+d} ({r['shift_ir']:+.3f} in IR units) on every class, "
                 f"vThMant {r['vThMant']} (threshold {r['theta_out_ir']:.3f}), percentiles lo {r['lo']} / hi {r['hi']}")
    lines.append(f"on the calibration data: spike counts agree with the current readout on "
                 f"{100 * r['agreement']:.1f}%; no output spike {100 * r['silent']:.1f}%, tied top count "
                 f"{100 * r['ties']:.1f}% (broken by the first class to reach it)")
    return "\n".join(lines)


def weight_bits(art, override=None) -> tuple[int, str]:
    """(bits, where they come from): ``override``, else the artifact's target profile's weight_bits."""
    from snnc.compiler.hardware import load_profile
    if override is not None:
        return int(override), "--weight-bits"
    target = art.info.target or "loihi2"
    bits = load_profile(target).limit("weight_bits")
    if bits is None:
        return 8, f"profile {target!r} sets no weight_bits: 8"
    return int(bits), f"profile {target!r}"
