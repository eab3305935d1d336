"""Run every benchmark in BENCHMARKS, one after the other (``make bench``)."""
import importlib
import sys

BENCHMARKS = [
    "benchmarks.bench_executor",
    "benchmarks.bench_calibration",
    "benchmarks.bench_simulator",
    "benchmarks.bench_torch",
    "benchmarks.bench_pool_convergence",
    "benchmarks.bench_estimate",
    "benchmarks.bench_sigma_delta",
    "benchmarks.validate_loihi2",
    "benchmarks.bench_lava",
    "benchmarks.bench_netx",
    "benchmarks.bench_lava_sigma_delta",
    "benchmarks.accuracy_table",
    "benchmarks.bench_finetune",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        try:
            mod = importlib.import_module(name)
            mod.main()
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"{name} failed: {e!r}", flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
