"""Where a run keeps its logs (one per build and per before-all, kept after the run) and its
scratch space (copies of the project, prefixes, frontend output: removed after the run); and
:class:`LogFollower`, which shows a log's lines as they are written (``build-verbosity`` >= 1)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from manywheel.values import value_class

__all__ = ["KEPT_RUNS", "LogFollower", "RunDirectory", "log_tail"]

#: Log directories of older runs beyond this many are removed when a run starts.
KEPT_RUNS = 20

#: How much of a log's end is read for the lines shown on failure.
_TAIL_BYTES = 64 * 1024


@value_class
class RunDirectory:
    logs: Path
    scratch: Path

    @classmethod
    def create(cls, log_parent: Path, *, scratch_parent: Path | None = None) -> RunDirectory:
        """A new ``<log_parent>/<time>-<pid>`` for the logs (older runs pruned to
        :data:`KEPT_RUNS`) and a new scratch directory (in ``scratch_parent`` or the system's
        temporary directory)."""
        log_parent.mkdir(parents=True, exist_ok=True)
        _prune(log_parent, KEPT_RUNS - 1)
        logs = log_parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        logs.mkdir()
        if scratch_parent is not None:
            scratch_parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="manywheel-build-", dir=scratch_parent))
        return cls(logs, scratch)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def remove_scratch(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _prune(parent: Path, keep: int) -> None:
    runs = sorted((p for p in parent.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def log_tail(path: Path, lines: int = 20) -> tuple[str, ...]:
    """The last ``lines`` non-empty lines of a log (decoded leniently), or nothing."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return ()
    text = data.decode("utf-8", "replace").replace("\r", "\n")
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return tuple(kept[-lines:])


class LogFollower:
    """Hands each line appended to the log at ``path`` to ``emit`` as it comes (from a thread,
    every ``interval`` seconds, and once more on exit, the last partial line included): the
    log is still written whole; this only shows it while it grows."""

    def __init__(self, path: Path, emit: Callable[[str], None], interval: float = 0.2) -> None:
        self.path = path
        self.emit = emit
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._offset = 0
        self._partial = b""

    def __enter__(self) -> LogFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._drain(final=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        try:
            with self.path.open("rb") as log:
                log.seek(self._offset)
                data = log.read()
        except OSError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        if final and self._partial:
            lines, self._partial = [*lines, self._partial], b""
        for line in lines:
            self.emit(line.decode(errors="replace").rstrip("\r"))
