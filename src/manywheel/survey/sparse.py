"""Reading only the parts of a big ELF member that the ELF reader uses, from a remote wheel.

The audit needs an ELF file's headers, its dynamic section and the tables that section points
to. The tables sit near the file's start, but the dynamic section lies behind the code and data
— most of the file — and a zip member is one deflate stream, normally read from its start. So
(the inflating from the middle is :mod:`manywheel.survey.inflate`'s):

1. **The head** is inflated from the member's start, as far as needed (the ELF and program
   headers first; then, once the dynamic section says where they are, the tables).
2. **A window** around PT_DYNAMIC is inflated from a deflate block found before it, as far as
   fetched. Where its bytes lie in the file is not known from the decode: it is found from the
   dynamic section's own testimony — an entry DT_PLTGOT whose address, where the window puts
   it, holds the address of the dynamic section itself (``_GLOBAL_OFFSET_TABLE_[0]`` is
   ``_DYNAMIC`` on x86, x86-64, and in lld's output generally), at exactly one place.
3. Else **the tail**: inflated from a block before PT_DYNAMIC to the member's last byte, whose
   offsets come from the end (the member's size is known).
4. **The answer** is the ELF reader's own (:func:`manywheel.elf.read_elf_stream`) on the file
   made of these pieces and filler between them — run twice, the unknown bytes and the filler
   0x00 in one run and 0xFF in the other. PT_DYNAMIC, PT_INTERP and the notes must be read
   outright (filler there would read as "no entries" either way), the tables PT_DYNAMIC
   points to as the stream reader bounds them, and the two runs must give the same facts: then
   they do not depend on any byte not read. Otherwise more is read — the head further, or the
   tail from further back — and after a few rounds, or when the pieces meet, the whole member
   is read as usual.

Everything is checked: a decode error, a tail that does not end at the member's last byte or
does not fit its size, an inflate past the declared size: then the member is read whole, in
order, with every check the audit makes. Never executed; memory is the pieces, not the member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from manywheel.elf import (
    ByteStream,
    DynamicTag,
    ElfFile,
    SegmentType,
    read_elf_stream,
)
from manywheel.errors import InvalidElfError
from manywheel.survey.inflate import Decoded
from manywheel.survey.pieces import DT_STRTAB, ROOM, Head, Middle, dynamic_entry, tags_known
from manywheel.survey.ranged import RangedFile
from manywheel.wheel import Member, StreamedMember, WheelArchive, stream_members

__all__ = ["SparseOptions", "read_elf_sparse", "read_elf_whole"]

logger = logging.getLogger(__name__)

_DT_TABLES = (
    *(DynamicTag.HASH, DynamicTag.STRTAB, DynamicTag.SYMTAB, DynamicTag.GNU_HASH),
    *(DynamicTag.VERSYM, DynamicTag.VERDEF, DynamicTag.VERNEED),
)
_DT_STRSZ = DynamicTag.STRSZ
_DT_VERSIONS = (DynamicTag.VERDEF, DynamicTag.VERNEED)
_PT_LOAD, _PT_DYNAMIC = int(SegmentType.LOAD), int(SegmentType.DYNAMIC)
#: Segments whose bytes the ELF reader uses as they are: they must be read, not guessed.
_STRUCTURAL = frozenset(
    int(t)
    for t in (SegmentType.DYNAMIC, SegmentType.INTERP, SegmentType.NOTE, SegmentType.GNU_PROPERTY)
)


@dataclass(frozen=True, slots=True)
class SparseOptions:
    #: Members at most this big (compressed) are read whole.
    min_compressed: int = 256 * 1024
    #: The head inflated first (the ELF and program headers).
    first_head: int = 64 * 1024
    #: Bytes read from the start of a table whose size is not known (the version tables),
    #: four times more each round the facts still depend on bytes not read.
    table_room: int = 16 * 1024
    #: Compressed bytes searched for a block boundary.
    search: int = 256 * 1024
    #: Rounds of growing before the member is read whole.
    rounds: int = 6


class _File:
    """A file of ``size`` bytes made of the head, pieces, and filler between them (the
    pieces' decodes for this filler), read forward as the ELF stream reader reads."""

    def __init__(self, size: int, head: bytes, pieces: list[Decoded], filler: int) -> None:
        self._size = size
        self._head = head
        self._pieces = sorted(pieces, key=lambda p: p.start)
        self._filler = filler
        self._pos = 0

    def _at(self, pos: int, end: int) -> bytes:
        """Bytes from ``pos`` up to ``end`` or the next change of source."""
        if pos < len(self._head):
            return self._head[pos : min(end, len(self._head))]
        for piece in self._pieces:
            if piece.start <= pos < piece.end:
                data = piece.zeros if self._filler == 0 else piece.ones
                return data[pos - piece.start : min(end, piece.end) - piece.start]
        later = [p.start for p in self._pieces if p.start > pos]
        return bytes([self._filler]) * (min([end, *later]) - pos)

    def read(self, size: int = -1, /) -> bytes:
        end = self._size if size < 0 else min(self._size, self._pos + size)
        parts = []
        while self._pos < end:
            part = self._at(self._pos, end)
            parts.append(bytes(part))
            self._pos += len(part)
        return b"".join(parts)


class _Parts:
    """What has been read of one member, and what is known."""

    def __init__(self, head: Head, middle: Middle, options: SparseOptions) -> None:
        self.head = head
        self.middle = middle
        self.options = options
        self.member = head.member
        #: The last facts read with zero filler: where the segments lie, once the headers are.
        self.layout: ElfFile | None = None

    def known(self, start: int, end: int) -> bool:
        """Whether every byte of [start, end) has been read (in a piece inflated from the
        middle: decoded the same with either window)."""
        start = max(start, len(self.head.data))
        return start >= end or any(p.known(start, end) for p in self.middle.pieces)

    def bytes(self, start: int, end: int) -> bytes:
        """Bytes read (as the zero-window decode has them where they are not known)."""
        if end <= len(self.head.data):
            return bytes(self.head.data[start:end])
        piece = next(p for p in self.middle.pieces if p.start <= start and end <= p.end)
        return piece.zeros[start - piece.start : end - piece.start]

    def reach(self, regions: list[tuple[int, int]], elf: ElfFile, *, further: bool = False) -> bool:
        """Read the ``(start, end)`` regions: each by the head or from the middle, whichever
        reads less (by position: the ratio is about even); from the middle, a window around
        PT_DYNAMIC first, the tail otherwise. False when nothing more can be found."""
        head_end = tail_from = None
        tail_start = self.middle.tail_start
        for start, end in regions:
            if start < len(self.head.data) or end - len(self.head.data) <= tail_start - start:
                head_end = max(end, head_end or 0)
            else:
                tail_from = min(start, tail_from if tail_from is not None else start)
        if head_end is not None:
            self.head.extend(head_end)
        if tail_from is None:
            return True
        tried = further or self.middle.window_tried
        if not tried and self.middle.find_dynamic(elf, self.head.consumed):
            return True
        lead = ROOM
        pieces = [p.start for p in self.middle.pieces if p.start <= tail_from]
        if pieces:  # read, but copied from before the piece: from further back
            lead = max(lead, 2 * (tail_from - max(pieces)))
        target = max(len(self.head.data), tail_from - lead)
        return self.middle.cover(target, self.head.consumed)

    def parse(self, filler: int) -> ElfFile | InvalidElfError:
        member, head, pieces = self.member, bytes(self.head.data), self.middle.pieces

        def stream() -> ByteStream:
            return _File(member.file_size, head, pieces, filler)

        try:
            return read_elf_stream(stream(), size=member.file_size, name=member.name,
                                   reopen=stream)  # fmt: skip
        except InvalidElfError as e:
            return e


def _read(parts: _Parts, elf: ElfFile, start: int, end: int) -> bool:
    """Whether a structural segment is read enough: PT_DYNAMIC's tags (see
    :func:`_tags_known`), every byte of the others."""
    dynamic = next((s for s in elf.segments if s.p_type == _PT_DYNAMIC), None)
    if dynamic is None or start != dynamic.offset:
        return parts.known(start, end)
    if parts.known(start, end):
        return True
    piece = next((p for p in parts.middle.pieces if p.start <= start and end <= p.end), None)
    if piece is None:
        return False
    raw = piece.zeros[start - piece.start : end - piece.start]
    return tags_known(piece.known, start, end - start, dynamic_entry(elf), raw)


def _structural(elf: ElfFile, size: int) -> list[tuple[int, int]]:
    return [
        (s.offset, min(size, s.offset + s.filesz))
        for s in elf.segments
        if s.p_type in _STRUCTURAL and s.filesz
    ]


def _table_regions(elf: ElfFile, parts: _Parts, room: int) -> list[tuple[int, int]]:
    """Where the tables PT_DYNAMIC points to lie (it is known by now), by the ELF stream
    reader's own rule: each from its start to the next table's start or its segment's end,
    the string table to DT_STRSZ; the version tables, whose size the entries do not give,
    ``room`` bytes (more each time the facts still depend on bytes not read)."""
    dynamic = next((s for s in elf.segments if s.p_type == _PT_DYNAMIC), None)
    if dynamic is None:
        return []
    raw = parts.bytes(dynamic.offset, dynamic.offset + dynamic.filesz)
    entry = dynamic_entry(elf)
    loads = [s for s in elf.segments if s.p_type == _PT_LOAD]
    starts: dict[int, tuple[int, int]] = {}
    string_size = None
    for tag, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
        if tag == 0:
            break
        if tag == _DT_STRSZ:
            string_size = value
        if tag in _DT_TABLES:
            for load in loads:
                if load.vaddr <= value < load.vaddr + load.filesz:
                    offset = value - load.vaddr + load.offset
                    starts[tag] = (offset, load.offset + load.filesz)
    ordered = sorted(o for o, _ in starts.values())
    regions = []
    for tag, (start, segment_end) in starts.items():
        later = [o for o in ordered if o > start]
        end = min([*later[:1], segment_end])
        if tag == DT_STRTAB and string_size is not None:
            end = start + string_size
        elif tag in _DT_VERSIONS or not later:
            end = min(end, start + room)
        regions.append((start, min(end, parts.member.file_size)))
    return regions


def read_elf_sparse(
    archive: WheelArchive, member: Member, remote: RangedFile, options: SparseOptions
) -> ElfFile:
    """The facts of a big ELF member, reading only what they depend on (see the module
    docstring); the same facts the audit gets streaming the whole member."""
    head = Head(remote, member, str(archive.path))
    parts = _Parts(head, Middle(remote, member, options.search), options)
    head.extend(options.first_head)
    room = options.table_room
    for _ in range(options.rounds):
        if head.done or len(head.data) >= parts.middle.tail_start:
            break
        answer = _answer(parts, room)
        if isinstance(answer, ElfFile):
            logger.debug("%s: read %d bytes from the start, %s from the middle, of %d",
                         member.name, len(head.data),
                         [(p.start, len(p.zeros)) for p in parts.middle.pieces],
                         member.file_size)  # fmt: skip
            return answer
        if answer is None:  # the facts depend on bytes not read: read further
            room *= 4
        elif not answer:
            break
    remote.fetch([(member.data_offset, member.compressed_size)])
    return read_elf_whole(archive, member)


def _answer(parts: _Parts, room: int) -> ElfFile | bool | None:
    """The facts, once they do not depend on any byte not read; else read more (``True``),
    ask for more room (``None``) or give up (``False``)."""
    zeros = parts.parse(0)
    if isinstance(zeros, ElfFile):
        parts.layout = zeros
    layout = parts.layout
    if layout is None:  # the headers are not all read yet
        parts.head.extend(max(4 * len(parts.head.data), parts.options.first_head))
        return True
    size = parts.member.file_size
    missing = [r for r in _structural(layout, size) if not _read(parts, layout, *r)]
    if missing:
        return parts.reach(missing, layout)
    missing = [r for r in _table_regions(layout, parts, room) if not parts.known(*r)]
    if missing:
        return parts.reach(missing, layout)
    unknown = [r for r in _structural(layout, size) if not parts.known(*r)]
    if isinstance(zeros, InvalidElfError):
        if unknown:  # PT_DYNAMIC's tags are read, some of its values not: read from further back
            return parts.reach(unknown, layout, further=True)
        return None
    if zeros == parts.parse(0xFF):
        return zeros
    if unknown:
        return parts.reach(unknown, layout, further=True)
    return None


def read_elf_whole(archive: WheelArchive, member: Member) -> ElfFile:
    """As the audit reads a member (:func:`manywheel.wheel.stream_members`): a small one whole,
    in one step, a bigger one streamed (size and CRC checked either way), so the same problem
    gets the same error."""

    def visit(streamed: StreamedMember) -> ElfFile:
        size = member.file_size
        return read_elf_stream(streamed, size=size, name=member.name, reopen=streamed.reopen)

    (elf,) = stream_members(archive, [member], visit)
    return elf
