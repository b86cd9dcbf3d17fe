"""Pieces of one ELF member's content read from a remote wheel: the head (inflated from the
member's start), and from the middle of its deflate stream a window around PT_DYNAMIC (placed
by the dynamic section's own testimony) or a tail to the member's end (placed from the end).
How they are put together and checked is :mod:`manywheel.survey.sparse`'s."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace

from manywheel.elf import (
    DT_HIPROC,
    DT_LOOS,
    DynamicTag,
    ElfClass,
    ElfData,
    ElfFile,
    Segment,
    SegmentType,
)
from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.survey.inflate import Decoded, find_tail, find_window
from manywheel.survey.ranged import RangedFile
from manywheel.wheel import Member

__all__ = ["DT_STRTAB", "DT_SYMTAB", "ROOM", "Head", "Middle", "dynamic_entry", "tags_known"]

DT_PLTGOT, DT_STRTAB, DT_SYMTAB = DynamicTag.PLTGOT, DynamicTag.STRTAB, DynamicTag.SYMTAB
PT_LOAD, PT_DYNAMIC = int(SegmentType.LOAD), int(SegmentType.DYNAMIC)
#: Room read around a region wanted: a margin, and the least worth a round trip.
ROOM = 64 * 1024
#: Compressed bytes at the stream's end inflated to learn the end's compression ratio, for
#: members over 16 times that (for smaller ones, the average ratio is estimate enough).
_CALIBRATION = 128 * 1024
_CALIBRATE_OVER = 16 * _CALIBRATION


def dynamic_entry(elf: ElfFile) -> struct.Struct:
    """The layout of one dynamic entry (d_tag, d_val) of ``elf``."""
    wide = elf.header.elf_class == ElfClass.ELF64
    order = "<" if elf.header.data == ElfData.LSB else ">"
    return struct.Struct(order + ("qQ" if wide else "iI"))


class Head:
    """The member's content from its start, inflated as far as asked."""

    def __init__(self, remote: RangedFile, member: Member, where: str) -> None:
        self._remote = remote
        self.member = member
        self._where = where
        self._inflater = zlib.decompressobj(-15) if member.method == 8 else None
        self.data = bytearray()
        self.consumed = 0  # compressed bytes fed

    @property
    def done(self) -> bool:
        return len(self.data) >= self.member.file_size

    def extend(self, target: int) -> None:
        member = self.member
        target = min(target, member.file_size)
        if self._inflater is None:  # stored: the content is the compressed bytes
            if target > len(self.data):
                self.data += self._remote.pread(member.data_offset + len(self.data),
                                                target - len(self.data))  # fmt: skip
            return
        while len(self.data) < target and self.consumed < member.compressed_size:
            # as many compressed bytes as the ratio so far says the rest needs, and a bit more
            ratio = self.consumed / len(self.data) if self.data else 0.5
            take = int((target - len(self.data)) * ratio * 1.1) + 16 * 1024
            take = min(take, member.compressed_size - self.consumed)
            self._remote.fetch([(member.data_offset + self.consumed, take)])
            raw = self._remote.pread(member.data_offset + self.consumed, take)
            self.consumed += len(raw)
            self._feed(raw)

    def _feed(self, raw: bytes) -> None:
        assert self._inflater is not None
        room = self.member.file_size + 1 - len(self.data)
        try:
            out = self._inflater.decompress(raw, room)
        except zlib.error as e:
            raise InvalidWheelError(f"corrupt deflate data: {e}", path=self._where,
                                    member=self.member.name) from e  # fmt: skip
        if len(self.data) + len(out) > self.member.file_size or self._inflater.unconsumed_tail:
            raise UnsafeWheelError("inflates past its declared size (zip bomb)",
                                   path=self._where, member=self.member.name)  # fmt: skip
        self.data += out


class Middle:
    """Pieces of the member's content inflated from the middle of its stream: a window around
    PT_DYNAMIC, and the tail to the member's end."""

    def __init__(self, remote: RangedFile, member: Member, search: int) -> None:
        self._remote = remote
        self._member = member
        self._search = search
        self.tail: Decoded | None = None
        #: Where the tail's first block starts in the compressed stream.
        self._tail_from = member.compressed_size
        self.window: Decoded | None = None
        self.window_tried = False

    @property
    def pieces(self) -> list[Decoded]:
        return [p for p in (self.window, self.tail) if p is not None]

    @property
    def tail_start(self) -> int:
        return self._member.file_size if self.tail is None else self.tail.start

    def _compressed(self, start: int, end: int) -> bytes:
        member = self._member
        self._remote.fetch([(member.data_offset + start, end - start)])
        return self._remote.pread(member.data_offset + start, end - start)

    def _estimate(self, offset: int) -> int:
        """The compressed offset of uncompressed ``offset``: by the ratio of the stream's end
        when a tail was inflated (code compresses worse than the symbol tables or data that
        follow PT_DYNAMIC: the end's ratio places it better than the average), else the
        average's."""
        member, tail = self._member, self.tail
        if tail is None or offset >= tail.start:
            return member.compressed_size * offset // max(1, member.file_size)
        ratio = (member.compressed_size - self._tail_from) / max(1, len(tail.zeros))
        return max(0, self._tail_from - int((tail.start - offset) * ratio))

    def calibrate(self, floor: int) -> None:
        """Inflate the stream's last bytes (a short tail), for :meth:`_estimate`."""
        size = self._member.compressed_size
        start = max(floor, size - _CALIBRATION)
        found = find_tail(self._compressed(start, size), file_size=self._member.file_size,
                          search=self._search)  # fmt: skip
        if found is not None and (self.tail is None or found.start < self.tail.start):
            self.tail = found
            self._tail_from = start + found.bit // 8

    def cover(self, offset: int, floor: int) -> bool:
        """Inflate to the end from a block boundary before ``offset`` (uncompressed), searching
        from an estimated compressed offset and moving back (the searched part doubling) until
        one covers it, never before ``floor`` (compressed bytes the head has read: from there,
        the head is cheaper). False when none does."""
        size = self._member.compressed_size
        behind = size - self._estimate(offset) + size // 50 + ROOM
        while True:
            start = max(floor, size - behind)
            found = find_tail(self._compressed(start, size), file_size=self._member.file_size,
                              search=self._search)  # fmt: skip
            if found is not None and (self.tail is None or found.start < self.tail.start):
                self.tail = found
                self._tail_from = start + found.bit // 8
            if self.tail is not None and self.tail.start <= offset:
                return True
            if start == floor:
                return False
            behind *= 2

    def find_dynamic(self, elf: ElfFile, floor: int) -> bool:
        """A window around PT_DYNAMIC, placed by the dynamic section's own testimony (see the
        module docstring); False when the window does not place itself (no DT_PLTGOT entry
        pointing at a slot holding the dynamic section's address, or more than one)."""
        self.window_tried = True
        dynamic = next((s for s in elf.segments if s.p_type == PT_DYNAMIC), None)
        if dynamic is None:
            return False
        if self.tail is None and self._member.compressed_size > _CALIBRATE_OVER:
            self.calibrate(floor)
        if self.tail is not None and self.tail.start <= dynamic.offset:
            return True  # the short tail holds it already
        size = self._member.compressed_size
        at = self._estimate(dynamic.offset)
        slack = (size - at) // 3 + ROOM
        start = max(floor, at - slack)
        end = min(size, self._estimate(dynamic.offset + dynamic.filesz) + slack)
        found = find_window(self._compressed(start, end), search=self._search)
        placed = _place(found, elf, dynamic.offset, dynamic.filesz) if found else None
        if found is None or placed is None:
            return False
        self.window = replace(found, start=placed)
        return True


def _place(found: Decoded, elf: ElfFile, offset: int, length: int) -> int | None:
    """Where ``found`` starts in the file, if exactly one placement puts a dynamic section of
    ``length`` bytes at ``offset`` whose DT_PLTGOT slot holds that section's own address."""
    entry = dynamic_entry(elf)
    dynamic = next(s for s in elf.segments if s.p_type == PT_DYNAMIC)
    marker = struct.pack(entry.format[0] + entry.format[2], dynamic.vaddr)
    tag = struct.pack(entry.format[0] + entry.format[1], DT_PLTGOT)
    loads = [s for s in elf.segments if s.p_type == PT_LOAD]
    data = found.zeros
    places: set[int] = set()
    q = data.find(tag)
    while q >= 0:
        target = None
        if found.known(q, q + entry.size):
            target = _file_offset(entry.unpack_from(data, q)[1], loads)
        for index in range(length // entry.size) if target is not None else ():
            assert target is not None
            j = q - index * entry.size  # the dynamic section's start, if q is its entry
            p = j + target - offset  # then the slot DT_PLTGOT points to
            if j < 0:
                break
            holds = p >= 0 and data[p : p + len(marker)] == marker
            known = holds and found.known(p, p + len(marker))
            if known and tags_known(found.known, j, length, entry, data[j : j + length]):
                places.add(offset - j)
        q = data.find(tag, q + 1)
    return places.pop() if len(places) == 1 else None


def _file_offset(address: int, loads: Sequence[Segment]) -> int | None:
    for load in loads:
        if load.vaddr <= address < load.vaddr + load.filesz:
            return address - load.vaddr + load.offset
    return None


def tags_known(
    known: Callable[[int, int], bool], offset: int, length: int, entry: struct.Struct, raw: bytes
) -> bool:
    """Whether ``raw`` (``length`` bytes at ``offset``) reads as a dynamic section whose tags
    are all known up to its DT_NULL: tags of the ranges ELF defines, the string and symbol
    tables named. Its values may be partly unknown: the two fillers read differently wherever
    a value is used. (An unknown tag could read as DT_NULL with one filler and as an ignored
    tag with the other: both would drop that entry.)"""
    half = entry.size // 2
    tags = []
    for at, (tag, _) in enumerate(entry.iter_unpack(raw[: length - length % entry.size])):
        if not known(offset + at * entry.size, offset + at * entry.size + half):
            return False
        tags.append(tag)
        if tag == 0:
            break
    if not tags or tags[-1] != 0 or not {DT_STRTAB, DT_SYMTAB} <= set(tags):
        return False
    return all(0 < t <= 0x30 or DT_LOOS <= t <= DT_HIPROC for t in tags[:-1])
