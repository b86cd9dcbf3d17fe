"""The errors manywheel raises on purpose.

Every exception raised deliberately derives from :class:`ManywheelError`. Problems with what the
user gave us (a corrupt ELF file, a hostile zip, a broken policy file) also derive from
:class:`ValueError`, so library callers can treat them as bad values. Each error carries structured
fields saying *where* (path, wheel member, byte offset) and ``str()`` renders them as one line.

"This wheel is not manylinux_2_17" is never an exception: it is data in a report. Exceptions mean
the operation cannot proceed.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = [
    "ElfEditError",
    "InputError",
    "InvalidElfError",
    "InvalidPolicyError",
    "InvalidWheelError",
    "ManywheelError",
    "NotPlatformWheelError",
    "ToolError",
    "UnsafeWheelError",
    "open_regular",
]


class ManywheelError(Exception):
    """Root of every error manywheel raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        member: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.member = member
        self.offset = offset

    @property
    def where(self) -> str:
        """``path``, ``path:member`` and/or ``@0xOFFSET``: the place the problem was found."""
        place = self.path or ""
        if self.member is not None:
            place = f"{place}:{self.member}" if place else self.member
        if self.offset is not None:
            place = f"{place} @0x{self.offset:x}" if place else f"@0x{self.offset:x}"
        return place

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message


class InputError(ManywheelError, ValueError):
    """What the user gave us cannot be used as it is."""


class InvalidElfError(InputError):
    """Bytes that should be an ELF file are not a valid one (truncated, bad offsets, bad magic)."""


class ElfEditError(InputError):
    """A valid ELF file that manywheel refuses to edit as asked, because it cannot do so safely
    (no dynamic section, an architecture no policy names, a layout with no room to grow)."""


class InvalidWheelError(InputError):
    """A file that should be a wheel is not a valid one (bad zip, name, metadata)."""


class UnsafeWheelError(InvalidWheelError):
    """A wheel that is refused because reading or writing it could do harm (path traversal,
    symlinks, encrypted members, zip bombs)."""


class InvalidPolicyError(InputError):
    """Policy data (shipped or a user's policy file) is malformed or inconsistent."""


class ToolError(ManywheelError):
    """An external tool manywheel needs (patchelf, strip) is missing, too old, or failed."""


class NotPlatformWheelError(ManywheelError):
    """The wheel has no ELF file for a platform: nothing to audit or repair (auditwheel exits 1)."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_irregular(mode: int, path: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    raise InputError(f"{kind}, not a regular file", path=path)


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of the regular file ``path`` (symbolic links followed): how every
    file a user names is opened. What cannot be read raises the error that says why — the
    ``OSError`` of the system (no such file, a symbolic-link loop, permission denied),
    :class:`IsADirectoryError`, or :class:`InputError` for a FIFO, a device or a socket, which
    is never opened for reading (a FIFO would wait for a writer, a device never ends)."""
    name = os.fspath(path)
    _refuse_irregular(os.stat(name).st_mode, str(name))  # noqa: PTH116 (no pathlib here)
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:  # the file may have been replaced between the two looks
        _refuse_irregular(os.fstat(fd).st_mode, str(name))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
