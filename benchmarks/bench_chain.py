"""A chain of libraries costs what as many independent libraries cost: ``show`` on a wheel of
N libraries each needing the next (RUNPATH ``$ORIGIN``) against a wheel of N independent ones,
for manywheel and auditwheel 6.8.2, in one run.

Run from the repository root: ``python -m benchmarks.bench_chain [--count N ...] [--repeat R]``.
The wheels are made as the tests make them (``tests/audit/chains.py``: one gcc-built library
copied N times by manywheel's editor). Printed per N: each tool's time on the chain and on the
independent libraries, their ratio (the target, issue #19: about 1 for manywheel), and
manywheel's speed-up over auditwheel on the chain.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.audit.builders import Builder
from tests.audit.chains import build_chains

from benchmarks.measure import Measurement, best_of, compile_bytecode, measure_command, ratio_line

AUDITWHEEL = Path(sys.executable).parent / "auditwheel"


def _show(tool: list[str], wheel: Path) -> Measurement:
    return measure_command([*tool, "show", str(wheel)])


def _best(repeat: int, tool: list[str], wheel: Path) -> Measurement:
    return best_of(repeat, lambda: _show(tool, wheel))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, action="append", default=[], metavar="N")
    parser.add_argument("--repeat", type=int, default=3, metavar="R")
    args = parser.parse_args(argv)
    compile_bytecode()
    manywheel = [sys.executable, "-m", "manywheel"]
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.count or [100, 300]:
            work = Path(tmp) / str(count)
            (work / "lib").mkdir(parents=True)
            chains = build_chains(Builder(work, work / "lib"), count)
            ours = [_best(args.repeat, manywheel, w) for w in (chains.chain, chains.independent)]
            ratio = ours[0].seconds / ours[1].seconds
            print(
                f"{count} libraries: manywheel chain {ours[0].seconds:.3f}s, independent "
                f"{ours[1].seconds:.3f}s -> chain/independent {ratio:.2f}"
            )
            if AUDITWHEEL.exists():
                theirs = [_show([str(AUDITWHEEL)], w) for w in (chains.chain, chains.independent)]
                print(
                    f"{count} libraries: auditwheel chain {theirs[0].seconds:.3f}s, independent "
                    f"{theirs[1].seconds:.3f}s -> chain/independent "
                    f"{theirs[0].seconds / theirs[1].seconds:.2f}"
                )
                print(ratio_line(f"{count}-library chain", ours[0], theirs[0], "auditwheel"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
