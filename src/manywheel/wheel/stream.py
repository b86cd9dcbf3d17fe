"""Streaming one member's inflated bytes, forward only, in bounded memory.

The reader checks as it goes and when it reaches the end: it never produces more bytes than the
central directory declares (a member that inflates past its size is a zip bomb and raises
:class:`UnsafeWheelError` at once), and at the end the size, CRC-32 and the consumption of exactly
the compressed bytes are checked. It hashes with sha256 in the same pass, so RECORD verification
costs no second inflate.

Inflating and CRC-32 use python-isal's zlib-compatible module when it is installed (the same
deflate streams, inflated about twice as fast: that is most of an audit's time on a big wheel),
and the standard library's zlib otherwise.
"""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from collections.abc import Callable
from types import ModuleType

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.wheel.zipformat import Member, Method

__all__ = ["CHUNK_SIZE", "MemberReader", "inflate_module"]

#: Compressed bytes read per system call, and the most inflated bytes produced per step.
CHUNK_SIZE = 1 << 18


def inflate_module() -> ModuleType:
    """The zlib-compatible module to inflate with: python-isal's when installed, else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


class MemberReader(io.RawIOBase):
    """A forward-only binary stream of one member's content; ``read(n)`` returns ``n`` bytes
    unless the member ends first. After the last byte, :meth:`sha256` is available."""

    def __init__(
        self,
        fd: int,
        member: Member,
        path: str,
        on_complete: Callable[[Member, bytes], None] | None = None,
    ) -> None:
        super().__init__()
        if member.method not in (Method.STORED, Method.DEFLATED):
            raise InvalidWheelError(
                f"unsupported compression method {member.method}", path=path, member=member.name
            )
        if member.method == Method.STORED and member.compressed_size != member.file_size:
            raise InvalidWheelError(
                f"stored member is {member.compressed_size} bytes but declares {member.file_size}",
                path=path,
                member=member.name,
            )
        self._fd = fd
        self._member = member
        self._path = path
        self._on_complete = on_complete
        self._pos = member.data_offset
        self._end = member.data_offset + member.compressed_size
        self._z = inflate_module()
        self._inflater = self._z.decompressobj(-15) if member.method == Method.DEFLATED else None
        self._produced = 0
        self._crc = 0
        self._hash = hashlib.sha256()
        self._digest: bytes | None = None

    @property
    def member(self) -> Member:
        return self._member

    @property
    def size(self) -> int:
        """The content's size in bytes, as declared (and checked at the end)."""
        return self._member.file_size

    def readable(self) -> bool:
        return True

    def sha256(self) -> bytes:
        """The sha256 digest of the whole content; only after the stream has been read to its
        end (see :meth:`drain`)."""
        if self._digest is None:
            raise ValueError("the member has not been read to its end")
        return self._digest

    def drain(self) -> bytes:
        """Read (and check) the rest of the member without keeping it; its sha256 digest."""
        while self._digest is None:
            self._step(CHUNK_SIZE)
        return self._digest

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        parts: list[bytes] = []
        wanted = size
        while wanted > 0 and self._digest is None:
            chunk = self._step(min(wanted, CHUNK_SIZE))
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while self._digest is None:
            parts.append(self._step(CHUNK_SIZE))
        return b"".join(parts)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def _error(self, message: str) -> InvalidWheelError:
        return InvalidWheelError(message, path=self._path, member=self._member.name)

    def _raw(self, size: int) -> bytes:
        size = min(size, self._end - self._pos)
        data = os.pread(self._fd, size, self._pos) if size else b""
        if len(data) != size:
            raise self._error("truncated member data")
        self._pos += size
        return data

    def _step(self, limit: int) -> bytes:
        """Up to ``limit`` (> 0) more content bytes; b"" only once the member is complete."""
        out = self._raw(limit) if self._inflater is None else self._inflate(limit)
        self._produced += len(out)
        if self._produced > self._member.file_size:
            raise UnsafeWheelError(
                f"inflates past its declared size of {self._member.file_size} bytes (zip bomb)",
                path=self._path,
                member=self._member.name,
            )
        self._crc = self._z.crc32(out, self._crc)
        self._hash.update(out)
        if not out:
            self._finish()
        return out

    def _inflate(self, limit: int) -> bytes:
        assert self._inflater is not None
        # Never ask for more than one byte beyond the declared size: a bomb is caught at once.
        limit = min(limit, self._member.file_size - self._produced + 1)
        while not self._inflater.eof:
            # isal may hold inflated output back without an unconsumed tail: drain it before
            # feeding more (zlib answers b"" at once).
            pending = self._inflater.unconsumed_tail
            if not pending:
                out = self._decompress(b"", limit)
                if out:
                    return out
                pending = self._raw(CHUNK_SIZE)
                if not pending:
                    raise self._error("compressed data ends before the deflate stream does")
            out = self._decompress(pending, limit)
            if out:
                return out
        return b""

    def _decompress(self, data: bytes, limit: int) -> bytes:
        assert self._inflater is not None
        try:
            return bytes(self._inflater.decompress(data, limit))
        except (zlib.error, self._z.error) as e:
            raise self._error(f"corrupt deflate data: {e}") from e

    def _finish(self) -> None:
        member = self._member
        if self._produced != member.file_size:
            raise self._error(f"inflated to {self._produced} bytes, expected {member.file_size}")
        leftover = self._pos != self._end
        if self._inflater is not None:
            leftover = leftover or bool(self._inflater.unused_data)
        if leftover:
            raise self._error("compressed data continues after the deflate stream ends")
        if self._crc != member.crc:
            raise self._error(f"CRC-32 is {self._crc:08x}, expected {member.crc:08x}")
        self._digest = self._hash.digest()
        if self._on_complete is not None:
            self._on_complete(member, self._digest)
