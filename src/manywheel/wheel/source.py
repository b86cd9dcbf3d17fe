"""Where a wheel's bytes come from: random reads at an offset.

A local file is read with ``os.pread`` on a descriptor (:class:`FileReader`). Anything else that
can answer "these bytes at that offset" — a remote file read by HTTP range requests, say — is a
:class:`RangeReader` too, and :meth:`WheelArchive.open_reader
<manywheel.wheel.WheelArchive.open_reader>` reads a wheel through it with the same zip parsing,
safety checks and member streams.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Protocol

__all__ = ["FileReader", "RangeReader"]


class RangeReader(Protocol):
    """Random access to the bytes of one file."""

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        ...

    def pread(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; fewer only where the file ends."""
        ...

    def will_need(self, ranges: Iterable[tuple[int, int]]) -> None:
        """A hint: ``(offset, length)`` ranges about to be read (a remote reader fetches them
        together; a local file ignores it). Readers may leave ``ranges`` unconsumed."""
        ...


class FileReader:
    """A :class:`RangeReader` over a descriptor open for reading (the caller closes it)."""

    __slots__ = ("_fd", "size")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.size = os.fstat(fd).st_size

    def fileno(self) -> int:
        return self._fd

    def pread(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def will_need(self, ranges: Iterable[tuple[int, int]]) -> None:
        """The page cache reads ahead by itself."""
