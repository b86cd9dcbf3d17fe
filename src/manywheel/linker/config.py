"""The system's own search configuration: ``/etc/ld.so.conf`` (with ``include`` globs, as
ldconfig reads it) and musl's ``/etc/ld-musl-<arch>.path``."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from manywheel.lazy import lazy_logger
from manywheel.linker.filesystem import FileSystem

__all__ = ["MAX_CONF_BYTES", "MAX_CONF_FILES", "read_ld_so_conf", "read_musl_path"]

log = lazy_logger(__name__)

_MAX_INCLUDE_DEPTH = 16
#: Each configuration file is at most this big (Debian's are a few dozen bytes).
MAX_CONF_BYTES = 1 << 20
#: At most this many files are read for one ``ld.so.conf``, includes included.
MAX_CONF_FILES = 4096


@dataclass(slots=True)
class _Reading:
    """One ``ld.so.conf`` read: the directories found, the files already read (so an include
    cycle is not followed), the files being read, and what was left out."""

    found: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    reading: set[str] = field(default_factory=set)
    cycles: set[str] = field(default_factory=set)
    too_deep: set[str] = field(default_factory=set)
    files: int = 0


def read_ld_so_conf(fs: FileSystem, path: str = "/etc/ld.so.conf") -> tuple[str, ...]:
    """The directories ``path`` lists, in order, without duplicates. ``include PATTERN`` lines
    (a relative pattern is relative to the including file's directory) are expanded in sorted
    order; ``hwcap`` lines and comments are ignored; a missing file lists nothing.

    Each file is read at most once and at most :data:`MAX_CONF_BYTES` big (larger is an
    :class:`~manywheel.errors.InputError`); includes that lead back to a file being read (a
    cycle), nest deeper than 16 or go past :data:`MAX_CONF_FILES` files are not followed, and
    one warning says so."""
    reading = _Reading()
    _read(fs, path, reading, 0)
    if reading.cycles:
        log.warning(
            "%s: include cycle through %s; not followed", path, ", ".join(sorted(reading.cycles))
        )
    skipped = reading.too_deep - reading.seen
    if skipped:
        log.warning(
            "%s: includes nested too deeply or too many files; ignored: %s",
            path,
            ", ".join(sorted(skipped)),
        )
    return tuple(dict.fromkeys(reading.found))


def _read(fs: FileSystem, path: str, reading: _Reading, depth: int) -> None:
    resolved = fs.resolve(path)
    if resolved is None:
        return
    if resolved in reading.reading:
        reading.cycles.add(resolved)
        return
    if resolved in reading.seen:  # included twice: its directories are already listed
        return
    if depth > _MAX_INCLUDE_DEPTH or reading.files >= MAX_CONF_FILES:
        reading.too_deep.add(resolved)
        return
    data = fs.read_bytes(resolved, limit=MAX_CONF_BYTES)
    if data is None:
        return
    reading.seen.add(resolved)
    reading.reading.add(resolved)
    reading.files += 1
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        _line(fs, path, raw, reading, depth)
    reading.reading.discard(resolved)


def _line(fs: FileSystem, path: str, raw: str, reading: _Reading, depth: int) -> None:
    line = raw.split("#", 1)[0].strip()
    if not line:
        return
    words = line.split()
    if words[0] == "include":
        for pattern in words[1:]:
            full = posixpath.join(posixpath.dirname(path), pattern)
            for included in fs.glob(full):
                _read(fs, included, reading, depth + 1)
    elif words[0] != "hwcap":
        # ldconfig also accepts "dir=TYPE" and separators of spaces, tabs, commas and colons.
        for entry in line.replace(",", " ").replace(":", " ").replace("\t", " ").split():
            directory = entry.split("=", 1)[0]
            if directory.startswith("/"):
                reading.found.append(posixpath.normpath(directory))


def read_musl_path(fs: FileSystem, musl_arch: str) -> tuple[str, ...] | None:
    """The directories of ``/etc/ld-musl-<arch>.path`` (separated by newlines or colons), or
    ``None`` when the file does not exist (musl then uses its built-in list)."""
    data = fs.read_bytes(f"/etc/ld-musl-{musl_arch}.path", limit=MAX_CONF_BYTES)
    if data is None:
        return None
    text = data.decode("utf-8", "surrogateescape")
    return tuple(p for p in text.replace("\n", ":").split(":") if p)
