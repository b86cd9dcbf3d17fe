"""What ``manywheel build`` shows: progress on stderr (a live line on a terminal, one line per
finished identifier otherwise, the last lines of the failing step's output for a failure) and
the summary table (with test and upload columns when those stages ran, and each failure's
last lines)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, TextIO

from manywheel.cli.context import Context

if TYPE_CHECKING:
    from manywheel.build import BuildOutcome, BuildRun, Stage

__all__ = ["BuildProgress", "summary_table"]


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


class BuildProgress:
    """Thread-safe progress for :func:`manywheel.build.run_builds`. On a terminal a status line
    (what runs now, in which stage, for how long) is redrawn every second."""

    def __init__(self, ctx: Context, *, total: int, live: bool) -> None:
        self.ctx = ctx
        self.stream: TextIO = ctx.stderr
        self.total = total
        self.live = live
        self.done = 0
        self.running: dict[str, tuple[Stage, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._drawn = False

    def __enter__(self) -> BuildProgress:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self._clear()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                self._draw()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def _draw(self) -> None:
        if not self.live or not self.running:
            return
        now = time.monotonic()
        parts = [
            f"{name} ({stage.value}, {now - since:.0f} s)"
            for name, (stage, since) in self.running.items()
        ]
        line = f"[{self.done}/{self.total}] " + ", ".join(parts)
        self.stream.write("\r\x1b[K" + line[:200])
        self.stream.flush()
        self._drawn = True

    def stage(self, name: str, stage: Stage) -> None:
        with self._lock:
            since = self.running.get(name, (stage, time.monotonic()))[1]
            self.running[name] = (stage, since)
            if stage.value == "before-all":
                self._clear()
                print(f"manywheel: {name}: running", file=self.stream)
            self._draw()

    def finished(self, outcome: BuildOutcome) -> None:
        name = str(outcome.identifier)
        with self._lock:
            self._clear()
            self.running.pop(name, None)
            self.running = {k: v for k, v in self.running.items() if not k.startswith("before-all")}
            if outcome.status.value != "unavailable":
                self.done += 1
            print(self._line(outcome), file=self.stream)
            if outcome.status.value == "failed":
                for line in outcome.log_tail:
                    print(f"    | {line}", file=self.stream)
                if outcome.log is not None:
                    print(f"    log: {outcome.log}", file=self.stream)
                if outcome.kept is not None:
                    print(f"    wheel kept at {outcome.kept}", file=self.stream)
            self._draw()

    def output(self, name: str, line: str) -> None:
        """A line of ``name``'s log as it is written (``build-verbosity`` >= 1), prefixed with
        its identifier (builds run in parallel)."""
        with self._lock:
            self._clear()
            print(f"{name} | {line}", file=self.stream)
            self._draw()

    def _line(self, outcome: BuildOutcome) -> str:
        name = str(outcome.identifier)
        if outcome.wheel is not None:
            mark = self.ctx.paint("built", "32")
            tested = f"; test passed on {outcome.test.system}" if outcome.test is not None else ""
            if outcome.reused_from is not None:
                mark = self.ctx.paint("reused", "32")
                tested = f"; the wheel of {outcome.reused_from}{tested}"
            return f"{mark} {name}: {outcome.wheel.name} ({outcome.seconds:.1f} s{tested})"
        if outcome.status.value == "unavailable":
            return f"{self.ctx.paint('unavailable', '33')} {name}: {outcome.error}"
        stage = outcome.stage.value if outcome.stage is not None else "build"
        mark = self.ctx.paint("failed", "1;31")
        return f"{mark} {name} in {stage}: {outcome.error}"


#: How the table names an upload's outcome.
_UPLOADED = {
    "uploaded": "uploaded",
    "exists": "on the index",
    "conflict": "conflict",
    "held-back": "held back",
    "not-tried": "not tried",
    "error": "error",
    "failed-check": "failed check",
}

#: Lines of a failure's output the summary repeats under the table.
SUMMARY_TAIL = 10


def _test_cell(outcome: BuildOutcome) -> str:
    if outcome.test is not None:
        return str(outcome.test.status.value)
    return "skipped" if outcome.test_skipped else "-"


def _upload_cell(run: BuildRun, outcome: BuildOutcome) -> str:
    from manywheel.build import upload_of

    upload = upload_of(run.upload, outcome)
    return _UPLOADED.get(upload.outcome.value, "?") if upload is not None else "-"


def _row(run: BuildRun, outcome: BuildOutcome, tested: bool) -> tuple[str, ...]:
    status = outcome.status.value
    if outcome.stage is not None:
        status = f"{status} ({outcome.stage.value})"
    if outcome.reused_from is not None:  # an earlier identifier's wheel, only tested here
        status = f"{status}, reused {outcome.reused_from}'s wheel"
    cells = [
        str(outcome.identifier),
        outcome.wheel.name if outcome.wheel is not None else "-",
        outcome.tag or "-",
        _size(outcome.size),
        f"{outcome.seconds:.1f}" if outcome.seconds else "-",
    ]
    if tested:
        cells.append(_test_cell(outcome))
    if run.upload is not None:
        cells.append(_upload_cell(run, outcome))
    return (*cells, status)


def _failures(run: BuildRun) -> list[str]:
    """Each identifier that did not pass, with the last lines of what decided it."""
    lines = []
    for outcome in run.outcomes:
        if outcome.ok:
            continue
        where = f" in {outcome.stage.value}" if outcome.stage is not None else ""
        lines.append(f"{outcome.identifier}{where}: {outcome.error}")
        lines.extend(f"    | {line}" for line in outcome.log_tail[-SUMMARY_TAIL:])
        if outcome.kept is not None:
            lines.append(f"    wheel kept at {outcome.kept}")
    return lines


def summary_table(run: BuildRun) -> str:
    """identifier, wheel, tag, size, seconds, [test], [upload], status: one row per identifier,
    then each failure with its output's last lines, then the totals."""
    tested = any(o.test is not None or o.test_skipped for o in run.outcomes)
    header = ["identifier", "wheel", "tag", "size", "seconds"]
    header += ["test"] * tested + ["upload"] * (run.upload is not None) + ["status"]
    rows = [tuple(header), *(_row(run, o, tested) for o in run.outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    failures = _failures(run)
    if failures:
        lines += ["", *failures, ""]
    built, total = sum(1 for o in run.outcomes if o.ok), len(run.outcomes)
    lines.append(f"{built} of {total} built into {run.wheelhouse}; logs in {run.log_dir}")
    return "\n".join(lines)
