"""Read every member of a wheel once: ELF members are parsed while they stream, every member is
hashed on the way (for RECORD verification), nothing is extracted, and both cores are used.

Threads, not processes: inflating (zlib), CRC-32 and sha256 release the GIL, which is where the
time goes on big wheels; the parsed facts then need no pickling. Each thread streams one member at
a time, so memory stays bounded by what the ELF reader keeps of the members in flight.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from manywheel.elf import ByteStream, ElfFile, read_elf_stream
from manywheel.errors import InvalidElfError
from manywheel.wheel import Member, MemberReader, WheelArchive, is_small

__all__ = ["ELF_MAGIC", "ScannedElf", "default_workers", "scan_wheel"]

logger = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
_BATCH_MEMBERS = 64
_BATCH_BYTES = 4 * 2**20


@dataclass(frozen=True, slots=True)
class ScannedElf:
    member: str
    elf: ElfFile
    #: Size of the member, inflated.
    size: int


def default_workers() -> int:
    """Threads to stream members with: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class _Prefixed:
    """``head`` followed by the rest of ``stream``: lets the magic be peeked at."""

    __slots__ = ("_head", "_stream")

    def __init__(self, head: bytes, stream: MemberReader) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if not self._head:
            return self._stream.read(size)
        if size < 0:
            data, self._head = self._head + self._stream.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data


def _scan_one(archive: WheelArchive, member: Member) -> ScannedElf | None:
    if is_small(member):  # read whole in one step; parsed by the same stream reader
        data = archive.read_member(member)
        if not data.startswith(ELF_MAGIC):
            return None
        elf = _parse(archive, member, io.BytesIO(data), lambda: io.BytesIO(data))
        return ScannedElf(member.name, elf, member.file_size)
    with archive.open_member(member) as stream:
        head = stream.read(len(ELF_MAGIC))
        if head != ELF_MAGIC:
            stream.drain()
            return None
        elf = _parse(archive, member, _Prefixed(head, stream), lambda: archive.open_member(member))
        stream.drain()
    return ScannedElf(member.name, elf, member.file_size)


def _parse(
    archive: WheelArchive, member: Member, stream: ByteStream, reopen: Callable[[], ByteStream]
) -> ElfFile:
    """The member's ELF facts; errors name the wheel and the member."""
    try:
        return read_elf_stream(stream, size=member.file_size, name=member.name, reopen=reopen)
    except InvalidElfError as e:
        raise InvalidElfError(
            e.message, path=str(archive.path), member=member.name, offset=e.offset
        ) from e


def scan_wheel(
    archive: WheelArchive,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ScannedElf, ...]:
    """Stream every file member of ``archive`` once (hashing it on the archive) and parse the ELF
    ones; the ELF members in archive order. ``progress(done_bytes, total_bytes)`` is called as
    members finish."""
    files = [m for m in archive.members if not m.is_dir]
    # Biggest first, so the threads finish together; small members go in batches, so that
    # thousands of headers cost a few hundred tasks, not thousands.
    order = sorted(files, key=lambda m: m.compressed_size, reverse=True)
    total = sum(m.compressed_size for m in files)
    found: dict[str, ScannedElf] = {}
    done = 0
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        for batch, results in zip(
            batches := _batches(order),
            pool.map(lambda b: _scan_batch(archive, b), batches),
            strict=True,
        ):
            for member, result in zip(batch, results, strict=True):
                if result is not None:
                    found[member.name] = result
            done += sum(m.compressed_size for m in batch)
            if progress is not None:
                progress(done, total)
    return tuple(found[m.name] for m in files if m.name in found)


def _batches(members: list[Member]) -> list[list[Member]]:
    """Consecutive members, at most ``_BATCH_MEMBERS`` or about ``_BATCH_BYTES`` compressed."""
    out: list[list[Member]] = []
    size = 0
    for member in members:
        if (
            not out
            or len(out[-1]) >= _BATCH_MEMBERS
            or size + member.compressed_size > _BATCH_BYTES
        ):
            out.append([])
            size = 0
        out[-1].append(member)
        size += member.compressed_size
    return out


def _scan_batch(archive: WheelArchive, batch: list[Member]) -> list[ScannedElf | None]:
    return [_scan_one(archive, m) for m in batch]
