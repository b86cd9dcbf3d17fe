"""The system's own search configuration: ``/etc/ld.so.conf`` (with ``include`` globs, as
ldconfig reads it) and musl's ``/etc/ld-musl-<arch>.path``."""

from __future__ import annotations

import logging
import posixpath

from manywheel.linker.filesystem import FileSystem

__all__ = ["read_ld_so_conf", "read_musl_path"]

log = logging.getLogger(__name__)

_MAX_INCLUDE_DEPTH = 16


def read_ld_so_conf(fs: FileSystem, path: str = "/etc/ld.so.conf") -> tuple[str, ...]:
    """The directories ``path`` lists, in order, without duplicates. ``include PATTERN`` lines
    (a relative pattern is relative to the including file's directory) are expanded in sorted
    order; ``hwcap`` lines and comments are ignored; a missing file lists nothing."""
    found: list[str] = []
    _read(fs, path, found, 0)
    return tuple(dict.fromkeys(found))


def _read(fs: FileSystem, path: str, found: list[str], depth: int) -> None:
    data = fs.read_bytes(path)
    if data is None:
        return
    if depth > _MAX_INCLUDE_DEPTH:
        log.warning("%s: includes nested too deeply; ignored", path)
        return
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include":
            for pattern in words[1:]:
                full = posixpath.join(posixpath.dirname(path), pattern)
                for included in fs.glob(full):
                    _read(fs, included, found, depth + 1)
        elif words[0] == "hwcap":
            continue
        else:
            # ldconfig also accepts "dir=TYPE" and separators of spaces, tabs, commas and colons.
            for entry in line.replace(",", " ").replace(":", " ").replace("\t", " ").split():
                directory = entry.split("=", 1)[0]
                if directory.startswith("/"):
                    found.append(posixpath.normpath(directory))


def read_musl_path(fs: FileSystem, musl_arch: str) -> tuple[str, ...] | None:
    """The directories of ``/etc/ld-musl-<arch>.path`` (separated by newlines or colons), or
    ``None`` when the file does not exist (musl then uses its built-in list)."""
    data = fs.read_bytes(f"/etc/ld-musl-{musl_arch}.path")
    if data is None:
        return None
    text = data.decode("utf-8", "surrogateescape")
    return tuple(p for p in text.replace("\n", ":").split(":") if p)
