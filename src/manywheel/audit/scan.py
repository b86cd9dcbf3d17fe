"""Read every member of a wheel once: ELF members are parsed while they stream, every member is
hashed on the way (for RECORD verification), nothing is extracted, and both cores are used
(:func:`manywheel.wheel.stream_members`).

Threads, not processes: inflating (zlib), CRC-32 and sha256 release the GIL, which is where the
time goes on big wheels; the parsed facts then need no pickling. Each thread streams one member at
a time, so memory stays bounded by what the ELF reader keeps of the members in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from manywheel.elf import ElfFile, read_elf_stream
from manywheel.errors import InvalidElfError
from manywheel.lazy import lazy_logger
from manywheel.values import value_class
from manywheel.wheel import StreamedMember, WheelArchive, stream_members

__all__ = ["ELF_MAGIC", "ScannedElf", "default_workers", "elf_member", "scan_wheel"]

logger = lazy_logger(__name__)

ELF_MAGIC = b"\x7fELF"


@value_class
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


def elf_member(streamed: StreamedMember, *, wheel: str, name: str | None = None) -> ElfFile | None:
    """The ELF facts of a member as :func:`~manywheel.wheel.stream_members` hands it over
    (``None``: not an ELF file), read forward from the stream it is. ``name`` names the file in
    the facts (the member's name by default); errors name the wheel and the member."""
    if streamed.head != ELF_MAGIC:
        return None
    member = streamed.member
    try:
        return read_elf_stream(
            streamed, size=member.file_size, name=name or member.name, reopen=streamed.reopen
        )
    except InvalidElfError as e:
        raise InvalidElfError(e.message, path=wheel, member=member.name, offset=e.offset) from e


def scan_wheel(
    archive: WheelArchive,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    hashed: bool = True,
) -> tuple[ScannedElf, ...]:
    """Stream every file member of ``archive`` once (hashing it on the archive) and parse the ELF
    ones; the ELF members in archive order. Without ``hashed`` (RECORD is not verified), a
    member that is no ELF file is read no further than its first bytes (an ELF file is read
    to its end either way). ``progress(done_bytes, total_bytes)`` is called as members
    finish."""
    files = [m for m in archive.members if not m.is_dir]
    wheel = str(archive.path)
    elves = stream_members(
        archive,
        files,
        lambda streamed: elf_member(streamed, wheel=wheel),
        drain=hashed,
        hashed=hashed,
        workers=workers or default_workers(),
        progress=progress,
    )
    return tuple(
        ScannedElf(m.name, elf, m.file_size) for m, elf in zip(files, elves, strict=True) if elf
    )
