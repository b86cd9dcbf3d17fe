"""Measure commands side by side: wall time and peak RSS of a child process, best of N.

Benchmarks compare manywheel with the reference tool (auditwheel) on the same inputs in the same
run and print ratios; absolute numbers vary from machine to machine, ratios much less.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Measurement",
    "best",
    "best_of",
    "compile_bytecode",
    "measure_call",
    "measure_command",
    "ratio_line",
]


@dataclass(frozen=True, slots=True)
class Measurement:
    seconds: float
    #: Peak resident set size of the child in bytes (0 for in-process measurements).
    peak_rss: int
    #: CPU time of the child (user + system; 0 for in-process measurements): what the work
    #: cost, whatever else the machine was doing.
    cpu_seconds: float = 0.0


def compile_bytecode() -> None:
    """Byte-compile manywheel's modules, as installing its wheel does (pip compiles the reference
    tool's at install time too). An editable install under ``PYTHONDONTWRITEBYTECODE`` never
    writes them, and every run would then compile ~80 modules: about 60 ms that no installed
    manywheel pays. (``__pycache__`` is ignored by git.)"""
    import compileall

    import manywheel

    compileall.compile_dir(Path(manywheel.__file__).parent, quiet=1)


def measure_command(argv: Sequence[str], *, env: dict[str, str] | None = None) -> Measurement:
    """Run ``argv`` to completion; its wall time and the peak RSS the kernel reports for it."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {stderr[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(seconds=seconds, peak_rss=usage.ru_maxrss * 1024, cpu_seconds=cpu)


def measure_call(fn: Callable[[], object]) -> Measurement:
    """Time an in-process call."""
    start = time.perf_counter()
    fn()
    return Measurement(seconds=time.perf_counter() - start, peak_rss=0)


def best_of(n: int, measure: Callable[[], Measurement]) -> Measurement:
    """The fastest of ``n`` runs (and the largest peak RSS seen)."""
    runs = [measure() for _ in range(n)]
    return best(runs)


def best(runs: Sequence[Measurement]) -> Measurement:
    """The fastest wall time and CPU time of ``runs`` (and the largest peak RSS seen)."""
    return Measurement(
        seconds=min(r.seconds for r in runs),
        peak_rss=max(r.peak_rss for r in runs),
        cpu_seconds=min(r.cpu_seconds for r in runs),
    )


def ratio_line(label: str, ours: Measurement, theirs: Measurement, theirs_name: str) -> str:
    """One printed line: both times, the speed-up, and both peak RSS values when known."""
    speedup = theirs.seconds / ours.seconds if ours.seconds else float("inf")
    line = (
        f"{label}: manywheel {ours.seconds:.3f}s vs {theirs_name} {theirs.seconds:.3f}s"
        f" -> {speedup:.1f}x"
    )
    if ours.peak_rss and theirs.peak_rss:
        line += f"; peak RSS {ours.peak_rss / 2**20:.0f} MiB vs {theirs.peak_rss / 2**20:.0f} MiB"
    return line
