"""Interpreters' answers to the probe, kept between runs: asking a dozen interpreters about
themselves costs a second or more on every ``manywheel build``, and their answers only change
when the interpreter does. An answer is used while the file it came from (the interpreter's
real path) keeps its inode, size and modification time; only answers from interpreters that can
build (headers and venv present) are kept, so installing what was missing is seen at once."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["ProbeCache"]

#: Bump when the probe script's answer changes shape: older files are then ignored.
FORMAT = 1
#: A cache file bigger than this is ignored (it holds a few hundred bytes per interpreter).
MAX_BYTES = 1 << 20


def _stamp(path: str) -> list[Any] | None:
    real = os.path.realpath(path)
    try:
        info = Path(real).stat()
    except OSError:
        return None
    return [real, info.st_ino, info.st_size, info.st_mtime_ns]


class ProbeCache:
    """The answers in ``file`` (``None``: remember nothing); thread-safe."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._dirty = False
        self._entries: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        if self.file is None:
            return {}
        try:
            if self.file.stat().st_size > MAX_BYTES:
                return {}
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, path: str) -> dict[str, Any] | None:
        """The answer stored for ``path`` if its interpreter is unchanged."""
        with self._lock:
            entry = self._entries.get(path)
        if not isinstance(entry, dict) or entry.get("stamp") != _stamp(path):
            return None
        facts = entry.get("facts")
        return facts if isinstance(facts, dict) else None

    def put(self, path: str, facts: dict[str, Any]) -> None:
        if not (facts.get("headers") and facts.get("venv")):
            return
        stamp = _stamp(path)
        if stamp is None:
            return
        with self._lock:
            self._entries[path] = {"stamp": stamp, "facts": facts}
            self._dirty = True

    def save(self) -> None:
        """Write the file if anything changed (atomically; a failure to write is ignored)."""
        if self.file is None or not self._dirty:
            return
        with self._lock:
            text = json.dumps({"format": FORMAT, "entries": self._entries})
            self._dirty = False
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".probes-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            Path(tmp).replace(self.file)
        except OSError:
            return
