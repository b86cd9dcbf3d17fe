"""PT_DYNAMIC: the entries, the address map that turns their addresses into file offsets, and
the dynamic symbol count from DT_HASH or DT_GNU_HASH (what a stripped file still has)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from manywheel.elf.constants import DynamicTag, SegmentType
from manywheel.elf.layout import Image, Layout
from manywheel.elf.model import Segment
from manywheel.errors import InvalidElfError

__all__ = [
    "AddressMap",
    "dynamic_entries",
    "gnu_hash_count",
    "parse_dynamic",
    "sysv_hash_count",
]


def parse_dynamic(layout: Layout, data: bytes) -> list[tuple[int, int]]:
    """(tag, value) pairs up to DT_NULL (or the end of the segment)."""
    return dynamic_entries(layout, data)[0]


def dynamic_entries(layout: Layout, data: bytes) -> tuple[list[tuple[int, int]], bool]:
    """(tag, value) pairs up to DT_NULL, and whether a DT_NULL ends them (else they run to the
    end of ``data``). One ``struct`` call for the whole array: no Python loop per entry."""
    count = len(data) // layout.dyn.size
    fields = layout.dyn.format[1:]
    words = struct.unpack(layout.dyn.format[0] + fields * count, data[: count * layout.dyn.size])
    tags = words[0::2]
    try:
        end = tags.index(DynamicTag.NULL)
    except ValueError:
        return list(zip(tags, words[1::2], strict=True)), False
    return list(zip(tags[:end], words[1 : 2 * end : 2], strict=True)), True


class AddressMap:
    """Virtual address -> file offset through the PT_LOAD segments."""

    __slots__ = ("_image", "_loads")

    def __init__(self, image: Image, segments: Sequence[Segment]) -> None:
        self._image = image
        self._loads = [
            (s.vaddr, s.filesz, s.offset) for s in segments if s.p_type == SegmentType.LOAD
        ]

    def offset(self, vaddr: int, size: int, what: str) -> int:
        """The file offset of ``size`` bytes at ``vaddr``; they must lie in one PT_LOAD's file
        image."""
        for start, filesz, offset in self._loads:
            if start <= vaddr and vaddr + size <= start + filesz:
                return offset + (vaddr - start)
        raise InvalidElfError(
            f"{what} at address 0x{vaddr:x} (0x{size:x} bytes) is not in any loaded segment",
            path=self._image.name,
        )


_CHUNK = 256


def sysv_hash_count(image: Image, layout: Layout, offset: int) -> int:
    """nchain of a DT_HASH table: the number of dynamic symbols."""
    raw = image.read(offset, 8, "DT_HASH header")
    return int(layout.word.unpack_from(raw, 4)[0])


def gnu_hash_count(image: Image, layout: Layout, offset: int, max_count: int) -> tuple[int, bool]:
    """The number of dynamic symbols from a DT_GNU_HASH table: one past the last symbol of the
    chain of the highest bucket. ``max_count`` bounds the walk (the symbols that fit in the
    file). The flag is False when no symbol is hashed: the count is then only ``symoffset``,
    a lower bound (unhashed undefined symbols may follow)."""
    nbuckets, symoffset, bloom_size, _shift = (
        layout.word.unpack_from(image.read(offset, 16, "DT_GNU_HASH header"), i)[0]
        for i in (0, 4, 8, 12)
    )
    buckets_at = offset + 16 + bloom_size * layout.word_size
    raw = image.read(buckets_at, nbuckets * 4, "DT_GNU_HASH buckets")
    top = max(struct.unpack(f"{layout.endian}{nbuckets}I", raw), default=0)
    if top < symoffset:
        return int(symoffset), False
    chain_at = buckets_at + nbuckets * 4
    index = top
    while index < max_count:
        at = chain_at + (index - symoffset) * 4
        words = _CHUNK if image.has(at, _CHUNK * 4) else 1
        raw = image.read(at, words * 4, "DT_GNU_HASH chain")
        for i, (word,) in enumerate(layout.word.iter_unpack(raw)):
            if word & 1:
                return index + i + 1, True
        index += words
    raise InvalidElfError(
        "DT_GNU_HASH chain runs past the symbols the file can hold", path=image.name, offset=offset
    )
