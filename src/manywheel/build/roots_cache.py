"""The user cache directory that roots, built interpreters and images live in, and how two
processes share it safely.

Everything slow to make (packed Debian roots, the .deb files they come from, interpreters built
from source) is kept under one directory, by default
``$XDG_CACHE_HOME/manywheel`` or ``~/.cache/manywheel``. An entry is published by renaming a
finished file into place, so a reader never sees half of one, and its builder holds an exclusive
lock file first, so two processes never build the same entry at once. The directory is always
passed in: nothing here reads the environment unless asked to.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from manywheel.values import value_class

__all__ = ["CacheDirectory", "exclusive_lock", "staging_dir"]


@value_class
class CacheDirectory:
    """The directory tree manywheel caches into."""

    root: Path

    @classmethod
    def default(cls, environ: Mapping[str, str], home: Path) -> CacheDirectory:
        """``$XDG_CACHE_HOME/manywheel``, else ``<home>/.cache/manywheel``."""
        base = environ.get("XDG_CACHE_HOME") or str(home / ".cache")
        return cls(Path(base) / "manywheel")

    @property
    def debs(self) -> Path:
        """debootstrap's ``--cache-dir``: downloaded .deb files, shared by every suite."""
        return self.root / "debs"

    @property
    def roots(self) -> Path:
        """Packed Debian roots: ``<suite>[-<arch>][-<extra>]-v<N>.tar.zst``."""
        return self.root / "roots"

    @property
    def interpreters(self) -> Path:
        """Interpreters built from source (free-threaded, musl), packed like roots."""
        return self.root / "interpreters"

    @property
    def locks(self) -> Path:
        return self.root / "locks"


@contextmanager
def exclusive_lock(cache: CacheDirectory, name: str) -> Iterator[None]:
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
        # Only this prefix's: mkdtemp's suffix has no "-", so ".build-bookworm-arm64-x1y2"
        # (another lock's build, maybe running now) is not ".build-bookworm"'s leftover.
        if "-" not in leftover.name[len(prefix) + 2 :]:
            remove_tree(leftover, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=parent))
    try:
        yield path
    finally:
        remove_tree(path, ignore_errors=True)


def remove_tree(path: Path, *, ignore_errors: bool = False) -> None:
    """Remove ``path`` like ``rm -rf``, but never through a mount point.

    A tree that something is mounted into (proc, a bind of the host's /dev, a project directory)
    must not be deleted through the mount: that would delete the host's files. Such a tree is
    left in place and :class:`OSError` names it, even with ``ignore_errors``. Read-only
    directories (a root has some) are made writable first.
    """
    if not path.exists() and not path.is_symlink():
        return
    mounted = _mount_points_under(path)
    if mounted:
        raise OSError(f"refusing to delete {path}: {mounted[0]} is mounted under it")
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    for directory, subdirs, _files in os.walk(path):
        for name in subdirs:
            child = Path(directory, name)
            if not child.is_symlink():
                child.chmod(0o700)
    shutil.rmtree(path, ignore_errors=ignore_errors)


def _mount_points_under(path: Path) -> list[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    points = [_unescape(line.split()[4]) for line in lines if len(line.split()) > 4]
    return [p for p in points if p.startswith(prefix) or p == prefix.rstrip("/")]


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal ``\\040`` etc."""
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )
