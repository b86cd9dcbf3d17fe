"""Writing a zip to a file descriptor: members copied as their compressed bytes, members deflated
from bytes or a file, then the central directory and end records (zip64 when needed).

Local headers always carry the CRC and sizes (no data descriptors), and only the zip64 extra
field: no timestamps or uid/gid extras, so the bytes depend only on what is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

from manywheel.wheel.zipformat import (
    CENTRAL,
    EOCD,
    EOCD64,
    EOCD64_LOCATOR,
    EXTRA_HEADER,
    LOCAL,
    ZIP64_LIMIT,
    Flag,
    Member,
    Method,
    Signature,
)

__all__ = ["WrittenFile", "ZipSink"]

logger = logging.getLogger(__name__)

_IO_CHUNK = 1 << 20
#: Sizes above this are given zip64 fields before the data is compressed (deflate can expand).
_ZIP64_MARGIN = ZIP64_LIMIT - (1 << 24)
_UNIX = 3
#: Writes and copies that may wait for a background sink's thread (each at most a few MiB:
#: a run of copies is one operation, a write is a header or a chunk of deflated bytes).
_QUEUED = 16


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """What a content write produced: the sha256 of the content and its size."""

    sha256: bytes
    size: int


class _Entry(NamedTuple):  # (a tuple: made once per member, 12,000 times for torch)
    raw_name: bytes
    flags: int
    method: int
    dos_datetime: int
    crc: int
    compressed_size: int
    file_size: int
    offset: int
    create_system: int
    external_attr: int


def _encode_name(name: str) -> tuple[bytes, int]:
    if name.isascii():
        return name.encode("ascii"), 0
    return name.encode("utf-8"), int(Flag.UTF8)


def _zip64_extra(values: list[int]) -> bytes:
    if not values:
        return b""
    body = b"".join(v.to_bytes(8, "little") for v in values)
    return EXTRA_HEADER.pack(0x0001, len(body)) + body


class _Background:
    """A sink's writes and copies, in order, on a thread of their own: ``os.write`` and
    ``copy_file_range`` release the GIL, so the caller goes on (waiting for edited members,
    queueing the next copies) while the kernel copies. At most ``_QUEUED`` operations wait
    (bounded memory); the first error stops the rest and is raised to the caller at its next
    operation or at :meth:`wait`."""

    def __init__(self) -> None:
        self._ops: queue.Queue[Callable[[], object] | None] = queue.Queue(maxsize=_QUEUED)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="manywheel-zip-io", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (op := self._ops.get()) is not None:
            if self._error is None and not self._cancelled:
                try:
                    op()
                except BaseException as e:  # raised on the caller's thread
                    self._error = e

    def submit(self, op: Callable[[], object]) -> None:
        self._raise()
        self._ops.put(op)

    def wait(self) -> None:
        """Wait for every operation submitted to be done; raise the first error."""
        self._stop()
        self._raise()

    def cancel(self) -> None:
        """Skip the operations not started yet, and wait for the thread to stop."""
        self._cancelled = True
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._ops.put(None)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


class ZipSink:
    """Writes one zip, front to back, to a file descriptor open for writing at offset 0. With
    ``background``, the writes and copies are made on a thread of their own (see
    :class:`_Background`): :meth:`finish` waits for them, :meth:`close` (always, once done
    with the sink) stops the thread."""

    def __init__(self, fd: int, *, background: bool = False) -> None:
        self._fd = fd
        #: Logical end of the zip, including the pending copy run.
        self._offset = 0
        self._entries: list[_Entry] = []
        #: A contiguous source range (fd, start, length) waiting to be copied in one go.
        self._run: tuple[int, int, int] | None = None
        self._background = _Background() if background else None

    def close(self) -> None:
        """Stop the background thread (what it had not started is not written)."""
        if self._background is not None:
            self._background.cancel()

    def _do(self, op: Callable[[], object]) -> None:
        if self._background is None:
            op()
        else:
            self._background.submit(op)

    def _write(self, data: bytes) -> None:
        self._flush_run()
        self._do(partial(self._write_all, data))
        self._offset += len(data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _queue_copy(self, src_fd: int, start: int, length: int) -> None:
        run = self._run
        if run is not None and run[0] == src_fd and run[1] + run[2] == start:
            self._run = (src_fd, run[1], run[2] + length)
        else:
            self._flush_run()
            self._run = (src_fd, start, length)
        self._offset += length

    def _flush_run(self) -> None:
        if self._run is not None:
            src_fd, start, length = self._run
            self._run = None
            self._do(partial(self._copy_range, src_fd, start, length))

    def _local_header(self, entry: _Entry, zip64: bool) -> bytes:
        csize, usize = entry.compressed_size, entry.file_size
        extra = _zip64_extra([usize, csize]) if zip64 else b""
        return (
            LOCAL.pack(
                Signature.LOCAL,
                45 if zip64 else 20,
                entry.flags,
                entry.method,
                entry.dos_datetime & 0xFFFF,
                entry.dos_datetime >> 16,
                entry.crc,
                ZIP64_LIMIT if zip64 else csize,
                ZIP64_LIMIT if zip64 else usize,
                len(entry.raw_name),
                len(extra),
            )
            + entry.raw_name
            + extra
        )

    def copy_member(
        self, src_fd: int, member: Member, *, dos_datetime: int, source_header: bytes | None = None
    ) -> None:
        """Copy ``member``'s compressed bytes from ``src_fd`` as they are, under a new local
        header built from its (checked) central directory entry. ``source_header``: the
        member's local header as it is in the source, if already read (else it is read here)."""
        raw_name, flags = _encode_name(member.name)
        entry = _Entry(
            raw_name,
            flags,
            member.method,
            dos_datetime,
            member.crc,
            member.compressed_size,
            member.file_size,
            self._offset,
            member.create_system,
            member.external_attr,
        )
        zip64 = max(member.compressed_size, member.file_size) >= ZIP64_LIMIT
        header = self._local_header(entry, zip64)
        header_size = member.data_offset - member.header_offset
        if (
            len(header) == header_size
            and (
                source_header
                if source_header is not None
                else os.pread(src_fd, header_size, member.header_offset)
            )
            == header
        ):
            # The source header is already exactly ours: copy header and data as one range, so
            # runs of such members become one copy (most wheels are written this way).
            self._queue_copy(src_fd, member.header_offset, header_size + member.compressed_size)
        else:
            self._write(header)
            self._queue_copy(src_fd, member.data_offset, member.compressed_size)
        self._entries.append(entry)

    def _copy_range(self, src_fd: int, offset: int, count: int) -> None:
        """Copy bytes already counted in ``_offset`` (a flushed run)."""
        end = offset + count
        try:
            while offset < end:
                copied = os.copy_file_range(src_fd, self._fd, end - offset, offset)
                if copied == 0:
                    break
                offset += copied
        except OSError:  # no copy_file_range here (old kernel, other file systems)
            logger.debug("copy_file_range failed; copying through memory", exc_info=True)
        while offset < end:
            data = os.pread(src_fd, min(_IO_CHUNK, end - offset), offset)
            if not data:
                raise OSError(f"source ended {end - offset} bytes early")
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            offset += len(data)

    def write_content(
        self,
        name: str,
        source: bytes | Path,
        *,
        external_attr: int,
        create_system: int,
        dos_datetime: int,
        level: int,
    ) -> WrittenFile:
        """Deflate ``source`` (bytes, or a file streamed in chunks) at ``level`` as ``name``."""
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        zip64 = size >= _ZIP64_MARGIN
        raw_name, flags = _encode_name(name)
        start = self._offset
        placeholder = _Entry(
            raw_name,
            flags,
            Method.DEFLATED,
            dos_datetime,
            0,
            0,
            0,
            start,
            create_system,
            external_attr,
        )
        self._write(self._local_header(placeholder, zip64))
        deflated = deflate_into(source, level, self._write)
        crc, csize, usize = deflated.crc, deflated.compressed_size, deflated.size
        entry = _Entry(
            raw_name,
            flags,
            Method.DEFLATED,
            dos_datetime,
            crc,
            csize,
            usize,
            start,
            create_system,
            external_attr,
        )
        self._flush_run()
        self._do(partial(os.pwrite, self._fd, self._local_header(entry, zip64), start))
        self._entries.append(entry)
        return WrittenFile(deflated.sha256, usize)

    def write_deflated(
        self,
        name: str,
        compressed: Path | bytes,
        deflated: Deflated,
        *,
        external_attr: int,
        create_system: int,
        dos_datetime: int,
    ) -> WrittenFile:
        """Add ``name`` from a raw deflate stream already made (:func:`deflate_file`'s file, or
        the stream's bytes)."""
        raw_name, flags = _encode_name(name)
        entry = _Entry(
            raw_name,
            flags,
            Method.DEFLATED,
            dos_datetime,
            deflated.crc,
            deflated.compressed_size,
            deflated.size,
            self._offset,
            create_system,
            external_attr,
        )
        self._write(self._local_header(entry, deflated.size >= _ZIP64_MARGIN))
        for chunk in _chunks(compressed):
            self._write(chunk)
        self._entries.append(entry)
        return WrittenFile(deflated.sha256, deflated.size)

    def compressed_sizes(self) -> dict[str, int]:
        """Each member written so far: its name and compressed size."""
        return {e.raw_name.decode("utf-8"): e.compressed_size for e in self._entries}

    def finish(self) -> None:
        """Write the central directory and the end records (and wait for every write)."""
        cd_offset = self._offset
        self._write(b"".join(self._central(entry) for entry in self._entries))
        cd_size = self._offset - cd_offset
        count = len(self._entries)
        zip64 = count >= 0xFFFF or cd_offset >= ZIP64_LIMIT or cd_size >= ZIP64_LIMIT
        if zip64:
            eocd64_offset = self._offset
            self._write(
                EOCD64.pack(
                    Signature.EOCD64,
                    EOCD64.size - 12,
                    45,
                    45,
                    0,
                    0,
                    count,
                    count,
                    cd_size,
                    cd_offset,
                )
            )
            self._write(EOCD64_LOCATOR.pack(Signature.EOCD64_LOCATOR, 0, eocd64_offset, 1))
        self._write(
            EOCD.pack(
                Signature.EOCD,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                min(cd_size, ZIP64_LIMIT),
                min(cd_offset, ZIP64_LIMIT),
                0,
            )
        )
        if self._background is not None:
            self._background.wait()

    @staticmethod
    def _central(entry: _Entry) -> bytes:
        big = [
            v for v in (entry.file_size, entry.compressed_size, entry.offset) if v >= ZIP64_LIMIT
        ]
        extra = _zip64_extra(big)
        version = 45 if big else 20
        return (
            CENTRAL.pack(
                Signature.CENTRAL,
                entry.create_system << 8 | version,
                version,
                entry.flags,
                entry.method,
                entry.dos_datetime & 0xFFFF,
                entry.dos_datetime >> 16,
                entry.crc,
                min(entry.compressed_size, ZIP64_LIMIT),
                min(entry.file_size, ZIP64_LIMIT),
                len(entry.raw_name),
                len(extra),
                0,
                0,
                0,
                entry.external_attr,
                min(entry.offset, ZIP64_LIMIT),
            )
            + entry.raw_name
            + extra
        )


@dataclass(frozen=True, slots=True)
class Deflated:
    """A raw deflate stream's facts: the content's sha256, CRC-32 and size, and the stream's."""

    sha256: bytes
    crc: int
    size: int
    compressed_size: int


def deflate_into(
    source: bytes | Path | Iterable[bytes], level: int, write: Callable[[bytes], object]
) -> Deflated:
    """Deflate ``source`` (bytes, a file streamed in chunks, or chunks) at ``level``, handing
    the raw stream to ``write``; zlib and sha256 release the GIL, so threads can do this in
    parallel."""
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    digest, crc, usize, csize = hashlib.sha256(), 0, 0, 0
    for chunk in _chunks(source):
        digest.update(chunk)
        crc = zlib.crc32(chunk, crc)
        usize += len(chunk)
        out = deflater.compress(chunk)
        csize += len(out)
        write(out)
    tail = deflater.flush()
    csize += len(tail)
    write(tail)
    return Deflated(digest.digest(), crc, usize, csize)


def deflate_file(source: bytes | Path | Iterable[bytes], level: int, dest: Path) -> Deflated:
    """:func:`deflate_into` a new file ``dest``."""
    with dest.open("wb") as out:
        return deflate_into(source, level, out.write)


def _chunks(source: bytes | Path | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    if not isinstance(source, Path):
        yield from source
        return
    with source.open("rb") as stream:
        while chunk := stream.read(_IO_CHUNK):
            yield chunk
