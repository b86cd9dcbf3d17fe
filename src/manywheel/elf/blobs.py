"""What an edit asks to place and where it went: blobs of bytes with their alignment, the
layout an edit took, and the page size new space is aligned for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "BSS_LIMIT",
    "PAGE",
    "Blob",
    "EditMethod",
    "Placement",
    "align",
    "first_start",
    "overlaps",
    "pack",
]

#: New space is aligned for 64 KiB pages (the largest Linux uses, on aarch64, ppc64 and
#: loongarch64; a multiple of every smaller page size).
PAGE = 0x10000
#: The largest .bss written out as zeros to extend the last segment (beyond it, a new segment).
BSS_LIMIT = 16 * 2**20


class EditMethod(Enum):
    """How an edit was laid out."""

    UNCHANGED = "unchanged"
    #: Written over the bytes it replaced: no offset, address or size changed.
    IN_PLACE = "in place"
    #: Into the gap after a segment (which grew).
    GAP = "gap"
    #: After the last segment (which grew; the unallocated tail of the file moved up).
    EXTEND = "extend"
    #: Into a new PT_LOAD segment.
    NEW_SEGMENT = "new segment"


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes to place: ``size`` bytes at an offset ``o`` with ``o % align == phase``."""

    name: str
    size: int
    align: int = 1
    phase: int = 0


@dataclass(slots=True)
class Placement:
    method: EditMethod
    #: Blob name -> (file offset, virtual address).
    where: dict[str, tuple[int, int]]
    #: Address ranges of the input's memory image that the layout change rewrote (moved
    #: sections, the grown program header table): excluded from the "nothing else changed" check.
    rewritten: list[tuple[int, int]] = field(default_factory=list)
    #: File ranges of unloaded sections rewritten (.symtab values of symbols that moved).
    rewritten_file: list[tuple[int, int]] = field(default_factory=list)


def align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _aligned(value: int, blob: Blob) -> int:
    """The smallest offset >= ``value`` where ``blob`` may start."""
    align = max(blob.align, 1)
    return value + (blob.phase - value) % align


def pack(blobs: Sequence[Blob], start: int) -> tuple[dict[str, int], int]:
    """Offsets of ``blobs`` laid out one after another from ``start``, and where they end."""
    at, offsets = start, {}
    for blob in blobs:
        at = _aligned(at, blob)
        offsets[blob.name] = at
        at += blob.size
    return offsets, at


def first_start(blobs: Sequence[Blob], start: int) -> int:
    return _aligned(start, blobs[0])


def overlaps(lo: int, hi: int, start: int, end: int) -> bool:
    return start < hi and lo < end
