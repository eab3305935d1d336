"""``python -m fuzz (from tests/) [--cases N] [--seed S] [--timeout SEC] [--family NAME ...] [--jobs J]``

Runs N fuzz cases through the real CLI, prints every violation and a table of outcomes per family
(exit code counts), and exits 1 when a case not marked as a known failure breaks the contract."""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from .cases import FAMILIES, generate
from .session import bases


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz (from tests/)", description=__doc__.split("\n\n")[1])
    ap.add_argument("--cases", type=int, default=900)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--timeout", type=float, default=60.0, help="per-case limit in seconds (a hang)")
    ap.add_argument("--family", action="append", choices=sorted(FAMILIES))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    from .runner import run_case
    cases = generate(args.seed, args.cases, bases(), args.family)
    by_family, codes, bad = defaultdict(Counter), defaultdict(Counter), []
    with ThreadPoolExecutor(args.jobs) as pool:
        for i, o in enumerate(pool.map(lambda c: run_case(c, args.timeout), cases)):
            f = o.case.family
            codes[f][o.code] += 1
            state = "ok" if o.ok else "known" if o.known else "FAIL"
            by_family[f][state] += 1
            if not o.ok:
                bad.append(o)
                print(f"[{state}] {f}: {o.case.name}: exit {o.code}: {'; '.join(o.violations)}"
                      + (f" (known: {o.known})" if o.known else ""), flush=True)
            if (i + 1) % 50 == 0:
                print(f"... {i + 1}/{len(cases)} cases", file=sys.stderr, flush=True)
    print(f"\n{'family':<14} {'cases':>5} {'ok':>5} {'known':>5} {'FAIL':>5}  exit codes")
    for f in sorted(by_family):
        c = by_family[f]
        ex = ", ".join(f"{k}: {v}" for k, v in sorted(codes[f].items(), key=lambda kv: str(kv[0])))
        print(f"{f:<14} {sum(c.values()):>5} {c['ok']:>5} {c['known']:>5} {c['FAIL']:>5}  {ex}")
    fails = [o for o in bad if not o.known]
    print(f"\n{len(cases)} cases: {len(cases) - len(bad)} ok, {len(bad) - len(fails)} known failures, "
          f"{len(fails)} failures")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
