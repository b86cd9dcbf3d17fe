"""Streaming one member's inflated bytes, forward only, in bounded memory.

The reader checks as it goes and when it reaches the end: it never produces more bytes than the
central directory declares (a member that inflates past its size is a zip bomb and raises
:class:`UnsafeWheelError` at once), and at the end the size, CRC-32 and the consumption of exactly
the compressed bytes are checked. It hashes with sha256 in the same pass, so RECORD verification
costs no second inflate (unless told not to hash: ``hashed=False``, for a reader that will not
verify RECORD; hashlib is then not even imported).

Inflating and CRC-32 use python-isal's zlib-compatible module when it is installed (the same
deflate streams, inflated about twice as fast: that is most of an audit's time on a big wheel),
and the standard library's zlib otherwise.
"""

from __future__ import annotations

import io
import queue
import threading
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.wheel.source import RangeReader
from manywheel.wheel.zipformat import Member, Method

if TYPE_CHECKING:
    import hashlib

__all__ = [
    "CHUNK_SIZE",
    "STEP_SIZE",
    "WHOLE_LIMIT",
    "MemberReader",
    "inflate_module",
    "is_small",
    "read_head",
    "read_whole",
]

#: Compressed bytes read per system call.
CHUNK_SIZE = 1 << 18
#: The most inflated bytes produced per step. Each step releases the GIL for its inflate, CRC
#: and sha256; big steps mean a thread streaming a big member seldom waits for the GIL behind
#: a thread busy with small ones (1 MiB steps took torch's audit from 1.31 s to 1.24 s).
STEP_SIZE = 1 << 20
#: Members whose compressed and inflated sizes are both at most this are inflated in one step
#: when read whole (one pread, one inflate call): thousands of small members cost little each.
WHOLE_LIMIT = 1 << 20
#: Members at least this big are hashed on a thread of their own, behind the inflate: for the
#: biggest member of a big wheel (libtorch_cpu.so: 434 MB, 0.39 s inflating and 0.24 s hashing)
#: that takes the hashing off the critical path.
HASH_BEHIND_SIZE = 64 << 20
#: Chunks that may wait for the hashing thread before the inflate waits for it.
_HASH_QUEUE = 4


class _HashBehind:
    """sha256 computed on a thread of its own, in order, at most ``_HASH_QUEUE`` chunks behind
    the caller (so memory stays bounded)."""

    def __init__(self) -> None:
        import hashlib

        self._hash = hashlib.sha256()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_HASH_QUEUE)
        self._thread = threading.Thread(target=self._run, name="manywheel-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._hash.update(chunk)  # releases the GIL for big chunks

    def update(self, data: bytes) -> None:
        self._chunks.put(data)

    def digest(self) -> bytes:
        self.close()
        return self._hash.digest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()


def inflate_module() -> ModuleType:
    """The zlib-compatible module to inflate with: python-isal's when installed, else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


def is_small(member: Member) -> bool:
    """Whether ``member`` is small enough to be read whole in one step (see ``WHOLE_LIMIT``)."""
    return max(member.compressed_size, member.file_size) <= WHOLE_LIMIT


def _check_method(member: Member, path: str) -> None:
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


def read_whole(
    reader: RangeReader, member: Member, path: str, *, hashed: bool = True
) -> tuple[bytes, bytes]:
    """The content of a small member (see :func:`is_small`) and its sha256 digest (``b""``
    unless ``hashed``), read with one pread and one inflate call, with every check
    :class:`MemberReader` makes: the cheap way through the thousands of small files of a big
    wheel."""
    _check_method(member, path)
    raw = reader.pread(member.data_offset, member.compressed_size)
    if len(raw) != member.compressed_size:
        raise InvalidWheelError("truncated member data", path=path, member=member.name)
    z = inflate_module()
    leftover = b""
    if member.method == Method.STORED:
        out = raw
    else:
        inflater = z.decompressobj(-15)
        out = _inflate_whole(z, inflater, raw, member, path)
        leftover = inflater.unused_data
    # the step-by-step reader's order of checks (_finish): size, leftover data, CRC
    if len(out) != member.file_size:
        message = f"inflated to {len(out)} bytes, expected {member.file_size}"
        raise InvalidWheelError(message, path=path, member=member.name)
    if leftover:
        raise InvalidWheelError(
            "compressed data continues after the deflate stream ends", path=path, member=member.name
        )
    crc = z.crc32(out)
    if crc != member.crc:
        message = f"CRC-32 is {crc:08x}, expected {member.crc:08x}"
        raise InvalidWheelError(message, path=path, member=member.name)
    if not hashed:
        return out, b""
    import hashlib

    return out, hashlib.sha256(out).digest()


#: Compressed bytes read to find a member's first inflated bytes (a dynamic deflate block's
#: code tables come first: a few hundred bytes at most).
_HEAD_PREFIX = 4096


def read_head(reader: RangeReader, member: Member, size: int) -> bytes | None:
    """The first ``size`` bytes of a member, inflating only as far as they (not checked: the
    member's size and CRC-32 are only known at its end), or ``None`` where that is not the
    cheap way (a member shorter than ``size``, an unknown method, a deflate stream that does not
    give them from its first bytes): the caller then reads the member whole, with every check.
    For a reader that looks at a member's magic and stops there (the bytes are those
    :func:`read_whole` would give)."""
    if member.file_size < size:
        return None
    if member.method == Method.STORED:
        if member.compressed_size != member.file_size:
            return None  # (read whole: the error is reported as it always is)
        head = reader.pread(member.data_offset, size)
        return head if len(head) == size else None
    if member.method != Method.DEFLATED:
        return None
    prefix = reader.pread(member.data_offset, min(member.compressed_size, _HEAD_PREFIX))
    z = inflate_module()
    try:
        head = z.decompressobj(-15).decompress(prefix, size)
    except (zlib.error, z.error):
        return None
    return head if len(head) == size else None


def _inflate_whole(z: ModuleType, inflater: Any, raw: bytes, member: Member, path: str) -> bytes:
    """Inflate all of ``raw`` (a whole member's deflate stream), producing at most one byte
    beyond the declared size: a bomb is caught without inflating it."""
    limit = member.file_size + 1
    try:
        out = inflater.decompress(raw, limit)
        while not inflater.eof and len(out) < limit:
            # isal may hold output back without an unconsumed tail: ask again
            more = inflater.decompress(inflater.unconsumed_tail, limit - len(out))
            if not more:
                break
            out += more
    except (zlib.error, z.error) as e:
        raise InvalidWheelError(f"corrupt deflate data: {e}", path=path, member=member.name) from e
    if len(out) > member.file_size:
        raise UnsafeWheelError(
            f"inflates past its declared size of {member.file_size} bytes (zip bomb)",
            path=path,
            member=member.name,
        )
    if not inflater.eof:
        raise InvalidWheelError(
            "compressed data ends before the deflate stream does", path=path, member=member.name
        )
    return bytes(out)


class _NoHash:
    """Stands in for the hash when the reader is not to hash (``hashed=False``)."""

    def update(self, data: bytes) -> None:
        pass

    def digest(self) -> bytes:
        return b""


class MemberReader(io.RawIOBase):
    """A forward-only binary stream of one member's content; ``read(n)`` returns ``n`` bytes
    unless the member ends first. After the last byte, :meth:`sha256` is available (unless
    made with ``hashed=False``: then the size and CRC-32 are still checked, nothing is hashed,
    and ``on_complete`` is not called)."""

    def __init__(
        self,
        reader: RangeReader,
        member: Member,
        path: str,
        on_complete: Callable[[Member, bytes], None] | None = None,
        *,
        hashed: bool = True,
    ) -> None:
        super().__init__()
        _check_method(member, path)
        self._reader = reader
        self._member = member
        self._path = path
        self._on_complete = on_complete
        self._pos = member.data_offset
        self._end = member.data_offset + member.compressed_size
        self._z = inflate_module()
        self._inflater = self._z.decompressobj(-15) if member.method == Method.DEFLATED else None
        self._produced = 0
        self._crc = 0
        self._hashed = hashed
        self._hash: _HashBehind | _NoHash | hashlib._Hash = _NoHash()
        if hashed and member.file_size >= HASH_BEHIND_SIZE:
            self._hash = _HashBehind()
        elif hashed:
            import hashlib

            self._hash = hashlib.sha256()
        self._digest: bytes | None = None

    @property
    def member(self) -> Member:
        return self._member

    @property
    def size(self) -> int:
        """The content's size in bytes, as declared (and checked at the end)."""
        return self._member.file_size

    def close(self) -> None:
        if isinstance(self._hash, _HashBehind):
            self._hash.close()
        super().close()

    @property
    def small(self) -> bool:
        """Whether the member is small enough to be read whole in one step (see ``WHOLE_LIMIT``)."""
        return is_small(self._member)

    def readable(self) -> bool:
        return True

    def sha256(self) -> bytes:
        """The sha256 digest of the whole content; only after the stream has been read to its
        end (see :meth:`drain`)."""
        if self._digest is None:
            raise ValueError("the member has not been read to its end")
        if not self._hashed:
            raise ValueError("the member was read without hashing it")
        return self._digest

    def drain(self) -> bytes:
        """Read (and check) the rest of the member without keeping it; its sha256 digest
        (``b""`` when not hashed)."""
        if self.small and self._produced == 0:
            self._whole()
        while self._digest is None:
            self._step(STEP_SIZE)
        return self._digest

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        parts: list[bytes] = []
        wanted = size
        while wanted > 0 and self._digest is None:
            chunk = self._step(min(wanted, STEP_SIZE))
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (a step's worth when negative): what one step of the inflate
        gives, never pieces joined; ``b""`` only at the end."""
        if self._digest is not None:
            return b""
        return self._step(STEP_SIZE if size < 0 else min(size, STEP_SIZE))

    def readall(self) -> bytes:
        if self.small and self._produced == 0:
            return self._whole()
        parts: list[bytes] = []
        while self._digest is None:
            parts.append(self._step(STEP_SIZE))
        return b"".join(parts)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def _error(self, message: str) -> InvalidWheelError:
        return InvalidWheelError(message, path=self._path, member=self._member.name)

    def _raw(self, size: int) -> bytes:
        size = min(size, self._end - self._pos)
        data = self._reader.pread(self._pos, size) if size else b""
        if len(data) != size:
            raise self._error("truncated member data")
        self._pos += size
        return data

    def _whole(self) -> bytes:
        """The whole content of a small member not read yet (see :func:`read_whole`)."""
        out, digest = read_whole(self._reader, self._member, self._path, hashed=self._hashed)
        self._pos = self._end
        self._produced = len(out)
        self._digest = digest
        if self._on_complete is not None and self._hashed:
            self._on_complete(self._member, digest)
        return out

    def _step(self, limit: int) -> bytes:
        """Up to ``limit`` (> 0) more content bytes; b"" only once the member is complete."""
        out = self._raw(limit) if self._inflater is None else self._inflate(limit)
        self._account(out)
        if not out:
            self._finish()
        return out

    def _account(self, out: bytes) -> None:
        self._produced += len(out)
        if self._produced > self._member.file_size:
            raise UnsafeWheelError(
                f"inflates past its declared size of {self._member.file_size} bytes (zip bomb)",
                path=self._path,
                member=self._member.name,
            )
        self._crc = self._z.crc32(out, self._crc)
        self._hash.update(out)

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
        if self._on_complete is not None and self._hashed:
            self._on_complete(member, self._digest)
