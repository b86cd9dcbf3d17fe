"""The file system the loader is emulated on: a seam, so an audit can put a wheel's members (never
extracted) over the system's libraries.

Paths given to a :class:`FileSystem` are *virtual*: absolute paths as the emulated loader sees
them. :class:`RootFileSystem` maps them below a root directory (``/`` for the host, a Debian root or
a cross sysroot otherwise) and follows symbolic links without ever leaving that root.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from manywheel.errors import InputError

if TYPE_CHECKING:
    from manywheel.elf import ElfFile
    from manywheel.linker.host_facts import HostFacts

__all__ = ["MAX_SYSTEM_FILE_BYTES", "FileSystem", "OverlayFileSystem", "RootFileSystem"]

_MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS
#: The most :meth:`FileSystem.read_bytes` reads of a system file unless told otherwise: real
#: ld.so.caches are below 1 MB, a libc below 10 MB.
MAX_SYSTEM_FILE_BYTES = 64 * 2**20


class FileSystem(Protocol):
    """What the resolver asks of the files it searches."""

    def resolve(self, path: str) -> str | None:
        """The canonical virtual path of the regular file at ``path`` (symbolic links followed),
        or ``None`` when there is no such file."""
        ...

    def load_elf(self, resolved: str) -> ElfFile:
        """The ELF facts of a file :meth:`resolve` returned. Raises
        :class:`~manywheel.errors.InvalidElfError` when it is not a valid ELF file."""
        ...

    def read_bytes(self, path: str, *, limit: int = MAX_SYSTEM_FILE_BYTES) -> bytes | None:
        """The content of a configuration file (``/etc/ld.so.cache``), ``None`` if absent or
        not a regular file. Raises :class:`~manywheel.errors.InputError` when it is larger
        than ``limit`` bytes."""
        ...

    def glob(self, pattern: str) -> tuple[str, ...]:
        """The virtual paths matching an absolute glob ``pattern``, sorted."""
        ...


class RootFileSystem:
    """The real file system below ``root``: ``/usr/lib/libz.so.1`` means
    ``<root>/usr/lib/libz.so.1``, and a link to ``/lib/x`` inside the root stays inside it."""

    __slots__ = ("_facts", "_root")

    def __init__(
        self, root: str | os.PathLike[str] = "/", *, facts: HostFacts | None = None
    ) -> None:
        self._root = str(Path(os.fspath(root)).absolute())
        #: Parsed files shared with other audits (see :class:`HostFacts`); ``None``: none.
        self._facts = facts

    @property
    def root(self) -> str:
        return self._root

    def __repr__(self) -> str:
        return f"RootFileSystem({self._root!r})"

    def host_path(self, virtual: str) -> str:
        """Where the virtual path ``virtual`` is on the host."""
        return self._root.rstrip("/") + "/" + virtual.lstrip("/")

    def virtual_path(self, host: str) -> str | None:
        """The virtual path of the host path ``host``, or ``None`` if it is outside the root."""
        host = posixpath.normpath(str(Path(host).absolute()))
        if self._root == "/":
            return host
        if host == self._root:
            return "/"
        prefix = self._root.rstrip("/") + "/"
        return "/" + host[len(prefix) :] if host.startswith(prefix) else None

    def resolve(self, path: str) -> str | None:
        resolved = self._resolve_links(path)
        if resolved is None:
            return None
        try:
            mode = Path(self.host_path(resolved)).lstat().st_mode
        except OSError:
            return None
        return resolved if stat.S_ISREG(mode) else None

    def load_elf(self, resolved: str) -> ElfFile:
        from manywheel.elf import read_elf

        host = self.host_path(resolved)
        return read_elf(host) if self._facts is None else self._facts.elf(host, read_elf)

    @property
    def facts(self) -> HostFacts | None:
        return self._facts

    def read_bytes(self, path: str, *, limit: int = MAX_SYSTEM_FILE_BYTES) -> bytes | None:
        resolved = self.resolve(path)
        if resolved is None:
            return None
        host = self.host_path(resolved)
        try:
            return _read_regular(host, limit)
        except OSError as e:
            if e.errno == errno.EFBIG:
                raise InputError(f"larger than {limit:,} bytes", path=host) from None
            return None

    def is_directory(self, path: str) -> bool:
        """Whether ``path`` is a directory (symbolic links followed inside the root)."""
        resolved = self._resolve_links(path)
        return resolved is not None and Path(self.host_path(resolved)).is_dir()

    def list_directory(self, path: str) -> tuple[str, ...]:
        """The names in the directory ``path`` (symbolic links followed inside the root),
        sorted. Raises :class:`OSError` (naming ``path`` on the host) when there is no such
        directory or it cannot be read."""
        try:
            return tuple(sorted(p.name for p in Path(self._host_resolved(path)).iterdir()))
        except OSError as e:
            raise OSError(e.errno, e.strerror, self.host_path(path)) from e

    def read_regular(self, path: str, *, limit: int) -> bytes:
        """The content of the regular file ``path`` (symbolic links followed inside the root),
        of at most ``limit`` bytes. Raises :class:`OSError` (naming ``path`` on the host) when
        it is absent, not a regular file (a device or a FIFO is never opened for reading),
        larger than ``limit`` or unreadable."""
        try:
            return _read_regular(self._host_resolved(path), limit)
        except OSError as e:
            raise OSError(e.errno, e.strerror, self.host_path(path)) from e

    def _host_resolved(self, path: str) -> str:
        resolved = self._resolve_links(path)
        if resolved is None:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        return self.host_path(resolved)

    def glob(self, pattern: str) -> tuple[str, ...]:
        import glob  # (ld.so.conf includes alone use it)

        base = glob.escape(self._root.rstrip("/"))
        matches = glob.glob(base + "/" + pattern.lstrip("/"))  # noqa: PTH207 (a pattern string)
        found = (self.virtual_path(m) for m in matches)
        return tuple(sorted(m for m in found if m is not None))

    def _resolve_links(self, path: str) -> str | None:
        """``path`` with every symbolic link followed inside the root (``..`` stops at it)."""
        pending = [part for part in path.split("/") if part]
        done: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            current = "/" + "/".join([*done, part])
            try:
                target = str(Path(self.host_path(current)).readlink())
            except OSError:  # not a link (or absent: stat decides later)
                done.append(part)
                continue
            hops += 1
            if hops > _MAX_SYMLINKS:
                return None
            if target.startswith("/"):
                done = []
            pending[:0] = [p for p in target.split("/") if p]
        return posixpath.join("/", *done)


def _refuse_irregular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file")


def _read_regular(host: str, limit: int) -> bytes:
    # A FIFO or a device is refused before it is opened; O_NONBLOCK in case one replaced the
    # file since (opening a FIFO must not wait for a writer), and fstat checks again.
    _refuse_irregular(os.lstat(host).st_mode)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(host, flags)
    try:
        _refuse_irregular(os.fstat(fd).st_mode)
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


class OverlayFileSystem:
    """``files`` (virtual path -> already-parsed ELF) laid over ``base``: how an audit shows the
    loader a wheel's members (``/<wheel>/pkg/_ext.so``) without extracting them, and how a file
    outside a ``--root`` is resolved against it. Everything else comes from ``base``."""

    __slots__ = ("_base", "_files")

    def __init__(self, base: FileSystem, files: Mapping[str, ElfFile]) -> None:
        self._base = base
        self._files = {posixpath.normpath(k): v for k, v in files.items()}

    def resolve(self, path: str) -> str | None:
        normal = posixpath.normpath(path)
        return normal if normal in self._files else self._base.resolve(path)

    def load_elf(self, resolved: str) -> ElfFile:
        found = self._files.get(resolved)
        return found if found is not None else self._base.load_elf(resolved)

    def read_bytes(self, path: str, *, limit: int = MAX_SYSTEM_FILE_BYTES) -> bytes | None:
        return self._base.read_bytes(path, limit=limit)

    def glob(self, pattern: str) -> tuple[str, ...]:
        return self._base.glob(pattern)
