"""Time ``manywheel show`` against ``auditwheel show`` (6.8.2) on the same wheels, in one run.

Run from the repository root: ``python -m benchmarks.bench_show [--repeat N] [--skip-torch]``,
or ``python -m benchmarks.bench_show --corpus [--sample K] [--seed S]`` for the corpus.

Wheels: the torch CPU wheel (``/opt/wheels``; ~190 MB, 136 ELF members), scipy and PyYAML
(pinned, downloaded once into ``~/.cache/manywheel/wheels``). Both tools run as subprocesses
(``--json``), wall time and peak RSS from ``wait4``; manywheel best of N, auditwheel once on torch
(it takes minutes) and best of N on the others (15 on PyYAML, where start-up dominates).
manywheel's modules are byte-compiled first, as an installed wheel's are. For torch it also times
the baseline: inflating every ELF member once with ``zipfile`` (nothing else), and prints
manywheel's time against it; and, when python-isal is installed, the same baseline inflating
with isal (the inflater manywheel uses), a stricter comparison.

Targets (issues #6 and #17): torch >= 25x faster than auditwheel and <= 1.3x the inflate
baseline, peak RSS <= 150 MB; scipy >= 20x; PyYAML (one extension: start-up) <= 0.08 s and
>= 4x. Each pinned wheel's line is followed by the CPU times (user + system) of the best runs
and of a bare ``python -c pass``.

**Corpus mode** (``--corpus``): every manylinux wheel under 60 MB in the machine's local indexes
(``/opt/pypi/files``, ``/opt/pypi-more/files``; ``--sample K`` takes K of them at random, seeded
by ``--seed``), each shown by both tools in a process of its own, one wheel after the other, as
CI runs them: the total times and their ratio (target: >= 20x less than auditwheel), the median
per-wheel ratio, the total CPU times (user + system: what the shared cores' load moves least), and
the wheels either tool failed on (left out of the totals). Both tools run on a wheel back to back,
each after the wheel was read into the page cache, so the machine's load and its disk weigh on
both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.measure import (
    Measurement,
    best_of,
    compile_bytecode,
    measure_command,
    ratio_line,
)

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
#: The local indexes whose manylinux wheels make the corpus, and its size limit.
CORPUS_DIRS = (Path("/opt/pypi/files"), Path("/opt/pypi-more/files"))
CORPUS_MAX_SIZE = 60_000_000
CACHE = Path.home() / ".cache" / "manywheel" / "wheels"
PINNED = (
    ("scipy==1.14.1", "scipy-1.14.1-cp311-cp311-manylinux_2_17_x86_64"),
    ("PyYAML==6.0.2", "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64"),
)
#: The same baseline with python-isal's inflater (what manywheel uses): one thread, nothing else.
_INFLATE_ISAL = """
import sys, zipfile
from isal import isal_zlib
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[1], "rb") as raw:
    for info in z.infolist():
        if info.compress_type != zipfile.ZIP_DEFLATED:
            continue
        raw.seek(info.header_offset + 26)
        skip = int.from_bytes(raw.read(2), "little") + int.from_bytes(raw.read(2), "little")
        raw.seek(skip, 1)
        inflater, left = isal_zlib.decompressobj(-15), info.compress_size
        head = inflater.decompress(raw.read(min(left, 1 << 16)))
        left -= min(left, 1 << 16)
        if head[:4] != b"\\x7fELF":
            continue
        while left:
            inflater.decompress(raw.read(min(left, 1 << 20)))
            left -= min(left, 1 << 20)
"""
_INFLATE = """
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        with z.open(info) as f:
            if f.read(4) == b"\\x7fELF":
                while f.read(1 << 20):
                    pass
"""


def _download(requirement: str, prefix: str) -> Path:
    found = sorted(CACHE.glob(f"{prefix}*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary",
                ":all:", "--python-version", "3.11", "--platform", "manylinux2014_x86_64",
                requirement, "-d", str(CACHE),
            ],
            check=True,
        )  # fmt: skip
        found = sorted(CACHE.glob(f"{prefix}*.whl"))
    return found[0]


def _tools() -> tuple[list[str], list[str]]:
    here = Path(sys.executable).parent
    auditwheel = shutil.which("auditwheel", path=str(here)) or shutil.which("auditwheel")
    if auditwheel is None:
        raise SystemExit("auditwheel 6.8.2 is not installed (pip install auditwheel==6.8.2)")
    return [sys.executable, "-m", "manywheel", "show", "--json"], [auditwheel, "show", "--json"]


def _mb(measurement: Measurement) -> str:
    return f"{measurement.peak_rss / 1e6:.0f} MB"


def bench(wheel: Path, repeat: int, theirs_repeat: int) -> None:
    ours_cmd, theirs_cmd = _tools()
    ours = best_of(repeat, lambda: measure_command([*ours_cmd, str(wheel)]))
    theirs = best_of(theirs_repeat, lambda: measure_command([*theirs_cmd, str(wheel)]))
    print(ratio_line(wheel.name, ours, theirs, "auditwheel"), flush=True)
    # CPU time (user + system) is what the work cost whatever else the shared cores did; the
    # bare interpreter's start is the floor under both tools.
    bare = best_of(repeat, lambda: measure_command([sys.executable, "-c", "pass"]))
    print(
        f"  CPU, best of each: manywheel {ours.cpu_seconds * 1e3:.1f} ms vs auditwheel "
        f"{theirs.cpu_seconds * 1e3:.1f} ms -> {theirs.cpu_seconds / ours.cpu_seconds:.1f}x "
        f"(python -c pass: {bare.cpu_seconds * 1e3:.1f} ms)",
        flush=True,
    )


def bench_torch(repeat: int) -> None:
    inflate = best_of(repeat, lambda: measure_command([sys.executable, "-c", _INFLATE, str(TORCH)]))
    ours_cmd, theirs_cmd = _tools()
    ours = best_of(repeat, lambda: measure_command([*ours_cmd, str(TORCH)]))
    print(
        f"{TORCH.name}: manywheel {ours.seconds:.3f}s ({_mb(ours)} peak RSS) vs inflating every "
        f"ELF member once {inflate.seconds:.3f}s -> {ours.seconds / inflate.seconds:.2f}x the "
        "baseline",
        flush=True,
    )
    if importlib.util.find_spec("isal") is not None:
        isal = best_of(
            repeat, lambda: measure_command([sys.executable, "-c", _INFLATE_ISAL, str(TORCH)])
        )
        print(
            f"{TORCH.name}: the same baseline inflating with python-isal {isal.seconds:.3f}s "
            f"-> manywheel is {ours.seconds / isal.seconds:.2f}x it",
            flush=True,
        )
    theirs = measure_command([*theirs_cmd, str(TORCH)])
    print(ratio_line(TORCH.name, ours, theirs, "auditwheel"), flush=True)


def corpus_wheels() -> list[Path]:
    """Every manylinux wheel under 60 MB in the local indexes (one per file name), sorted."""
    found: dict[str, Path] = {}
    for directory in CORPUS_DIRS:
        for path in sorted(directory.glob("*.whl")):
            platforms = path.name[:-4].rsplit("-", 1)[-1].split(".")
            manylinux = any(p.startswith("manylinux") for p in platforms)
            if manylinux and path.stat().st_size < CORPUS_MAX_SIZE:
                found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def _warm(wheel: Path) -> None:
    """Read the wheel once, so that neither tool pays for bringing it into the page cache (on
    this machine unused pages are reclaimed within minutes: the tool run first would)."""
    with wheel.open("rb") as f:
        while f.read(1 << 20):
            pass


def _timed(argv: list[str], wheel: Path) -> Measurement | None:
    """One run on a wheel in the page cache, or ``None`` when the tool failed on it (an exit
    code other than 0/1)."""
    _warm(wheel)
    try:
        return measure_command([*argv, str(wheel)])
    except RuntimeError:
        return None


def bench_corpus(sample: int | None, seed: int, verbose: bool) -> None:
    ours_cmd, theirs_cmd = _tools()
    wheels = corpus_wheels()
    if sample is not None and sample < len(wheels):
        wheels = sorted(random.Random(seed).sample(wheels, sample))
    size = sum(w.stat().st_size for w in wheels)
    print(f"corpus: {len(wheels)} manylinux wheels under 60 MB ({size / 1e6:.0f} MB)", flush=True)
    ours_total = theirs_total = ours_cpu = theirs_cpu = 0.0
    ratios: list[float] = []
    failed: dict[str, list[str]] = {"manywheel": [], "auditwheel": []}
    for wheel in wheels:
        ours = _timed(ours_cmd, wheel)
        theirs = _timed(theirs_cmd, wheel)
        if ours is None or theirs is None:
            for name, result in (("manywheel", ours), ("auditwheel", theirs)):
                if result is None:
                    failed[name].append(wheel.name)
            continue
        ours_total += ours.seconds
        theirs_total += theirs.seconds
        ours_cpu += ours.cpu_seconds
        theirs_cpu += theirs.cpu_seconds
        ratios.append(theirs.seconds / ours.seconds)
        if verbose:
            print(ratio_line(wheel.name, ours, theirs, "auditwheel"), flush=True)
    for name, names in failed.items():
        if names:
            print(f"{name} failed on {len(names)} (left out): {', '.join(names)}")
    if not ratios:
        raise SystemExit("no wheel both tools could show")
    print(
        f"corpus total ({len(ratios)} wheels): manywheel {ours_total:.1f}s vs auditwheel "
        f"{theirs_total:.1f}s -> {theirs_total / ours_total:.1f}x; per wheel: median "
        f"{statistics.median(ratios):.1f}x, slowest {min(ratios):.1f}x, fastest {max(ratios):.1f}x",
        flush=True,
    )
    print(
        f"  CPU (user + system), total: manywheel {ours_cpu:.1f}s vs auditwheel "
        f"{theirs_cpu:.1f}s -> {theirs_cpu / ours_cpu:.1f}x",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best of)")
    parser.add_argument(
        "--repeat-small",
        type=int,
        default=15,
        help="runs per measurement on the small wheels, where start-up noise dominates",
    )
    parser.add_argument("--skip-torch", action="store_true", help="leave out the torch wheel")
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="instead: every manylinux wheel under 60 MB of the local indexes, one process each",
    )
    parser.add_argument("--sample", type=int, help="with --corpus: K wheels taken at random")
    parser.add_argument("--seed", type=int, default=17, help="with --sample: the random seed")
    parser.add_argument("-v", "--verbose", action="store_true", help="with --corpus: each wheel")
    args = parser.parse_args()
    compile_bytecode()
    if args.corpus:
        bench_corpus(args.sample, args.seed, args.verbose)
        return
    for requirement, prefix in PINNED:
        repeat = args.repeat_small if requirement.startswith("PyYAML") else args.repeat
        bench(_download(requirement, prefix), repeat, repeat)
    if not args.skip_torch and TORCH.is_file():
        bench_torch(args.repeat)


if __name__ == "__main__":
    main()
