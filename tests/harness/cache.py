"""Where the harness keeps what it builds, and how two pytest processes share it safely.

Everything slow (Debian roots, wheels built from sdists, downloaded .debs) lives under one cache
directory, by default ``~/.cache/manywheel``. A cache entry is published by renaming a finished
temporary file or directory into place, so a reader never sees half of one, and builders take an
exclusive lock file first, so two processes never build the same entry at once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HarnessCache", "exclusive_lock", "staging_dir"]


@dataclass(frozen=True, slots=True)
class HarnessCache:
    """The directory tree the harness caches into; pass one explicitly, or use :meth:`default`."""

    root: Path

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> HarnessCache:
        """``$XDG_CACHE_HOME/manywheel``, else ``~/.cache/manywheel``."""
        env = os.environ if environ is None else environ
        base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(base) / "manywheel")

    @property
    def wheels(self) -> Path:
        """Real wheels downloaded from the package index, pinned by version."""
        return self.root / "wheels"

    @property
    def debs(self) -> Path:
        """debootstrap's ``--cache-dir``: downloaded .deb files, shared by every suite."""
        return self.root / "debs"

    @property
    def roots(self) -> Path:
        """Packed Debian roots, ``<suite>-v<N>.tar.zst``."""
        return self.root / "roots"

    @property
    def sdist_wheels(self) -> Path:
        """Wheels built from sdists, one directory per build key."""
        return self.root / "sdist-wheels"

    @property
    def locks(self) -> Path:
        return self.root / "locks"


@contextmanager
def exclusive_lock(cache: HarnessCache, name: str) -> Iterator[None]:
    """Hold ``<cache>/locks/<name>.lock`` exclusively (blocks while another process holds it)."""
    cache.locks.mkdir(parents=True, exist_ok=True)
    with (cache.locks / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh directory next to where the result will be published; removed on the way out.

    Being in the same directory as the destination makes the final :func:`os.replace` atomic.
    Call it holding the lock that guards the result: it first removes the leftovers of builds
    with the same ``prefix`` that were killed before they could clean up.
    """
    parent.mkdir(parents=True, exist_ok=True)
    for leftover in parent.glob(f".{prefix}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
