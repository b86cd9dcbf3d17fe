"""Where the bytes an edit adds go when they do not fit where they were (a string table that
grows, a dynamic array that needs more slots), in this order of preference:

1. **A gap** after a loadable segment: the file bytes and the addresses between it and the next
   segment are unused (the page padding linkers leave, e.g. after the first read-only segment of
   a ``-z separate-code`` layout). The segment grows into them; no header is added.
2. **The last loadable segment, extended**: its zero-filled tail (.bss, at most
   :data:`BSS_LIMIT`) is written out as zeros and the new bytes follow; the unallocated sections
   after it in the file (symbol tables, debug information) and the section header table move
   up. No header is added.
3. **A new PT_LOAD** at the end of the file, after every address in use, as the gABI allows. The
   program header table needs one more entry: when sections follow it that can be moved without
   touching code (.interp, notes, hash tables, .dynsym, version tables), they move into the new
   segment and the table grows where it is — the layout linkers produce, the one ``strip`` and old
   kernels (which compute AT_PHDR from the first segment) understand. A file without section
   headers cannot say what follows the table: it is refused (see :mod:`new_segment`).

New space is aligned for 64 KiB pages (the largest Linux uses, on aarch64, ppc64 and loongarch64;
a multiple of every smaller page size) whatever the file's own alignment, so the result loads on
64 KiB-page kernels whenever the input did: no segment gains a page that another one maps.
Every segment keeps ``p_offset % p_align == p_vaddr % p_align``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from manywheel.elf.blobs import (
    BSS_LIMIT,
    PAGE,
    Blob,
    EditMethod,
    Placement,
    align,
    first_start,
    overlaps,
    pack,
)
from manywheel.elf.constants import SectionFlag as SHF
from manywheel.elf.constants import SegmentFlag as PF
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.new_segment import new_segment
from manywheel.elf.structure import ElfStructure, ProgramHeader, header_size
from manywheel.errors import ElfEditError

__all__ = ["BSS_LIMIT", "PAGE", "Blob", "EditMethod", "Placement", "place"]


class _Space:
    """What occupies the file and the address space of a draft."""

    def __init__(self, elf: ElfStructure, size: int) -> None:
        self.elf = elf
        self.size = size

    def file_ranges(self, skip: ProgramHeader | None = None) -> list[tuple[int, int]]:
        elf = self.elf
        ranges = [(0, header_size(elf.layout))]
        ranges.append((elf.phoff, elf.phoff + len(elf.phdrs) * elf.phentsize))
        if elf.shdrs:
            ranges.append((elf.shoff, elf.shoff + len(elf.shdrs) * elf.layout.shdr.size))
        ranges += [(s.offset, s.offset + s.size) for s in elf.shdrs if s.in_file]
        ranges += [(p.offset, p.file_end) for p in elf.phdrs if p.filesz and p is not skip]
        return ranges

    def file_free(self, lo: int, hi: int, skip: ProgramHeader) -> bool:
        return not any(overlaps(lo, hi, s, e) for s, e in self.file_ranges(skip))

    def memory_free(self, lo: int, hi: int, skip: ProgramHeader) -> bool:
        elf = self.elf
        for p in elf.phdrs:
            busy = p is not skip and p.memsz > 0 and p.p_type != PT.GNU_STACK
            if busy and overlaps(lo, hi, p.vaddr, p.mem_end):
                return False
        for s in elf.shdrs:
            held = s.allocated and not s.flags & SHF.TLS and s.size > 0
            if held and overlaps(lo, hi, s.addr, s.addr + s.size):
                return False
        return True


def _flags_allow(load: ProgramHeader, writable: bool) -> bool:
    return bool(load.flags & PF.R) and (not writable or bool(load.flags & PF.W))


def _try_gap(
    elf: ElfStructure, out: bytearray, blobs: Sequence[Blob], writable: bool
) -> Placement | None:
    loads = sorted(elf.loads, key=lambda p: p.vaddr)
    space = _Space(elf, len(out))
    for load, after in pairwise(loads):
        if not _flags_allow(load, writable) or load.memsz != load.filesz:
            continue
        if load.align > 1 and (load.vaddr - load.offset) % load.align:
            continue
        start = first_start(blobs, load.file_end)
        offsets, end = pack(blobs, start)
        end_vaddr = load.vaddr + (end - load.offset)
        pages_end = align(load.mem_end, PAGE)
        if end_vaddr > min(after.vaddr, max(pages_end, after.vaddr // PAGE * PAGE)):
            continue
        if not space.file_free(load.file_end, end, load) or end > len(out):
            continue
        if not space.memory_free(load.mem_end, end_vaddr, load):
            continue
        load.filesz = load.memsz = end - load.offset
        where = {n: (o, load.vaddr + (o - load.offset)) for n, o in offsets.items()}
        return Placement(EditMethod.GAP, where)
    return None


def _try_extend(
    elf: ElfStructure, out: bytearray, blobs: Sequence[Blob], writable: bool
) -> Placement | None:
    loads = elf.loads
    if not loads:
        return None
    last = max(loads, key=lambda p: p.vaddr)
    bss = last.memsz - last.filesz
    if not _flags_allow(last, writable) or not 0 <= bss <= BSS_LIMIT:
        return None
    cut = last.file_end
    # Segments that map nothing (PT_RISCV_ATTRIBUTES) move with the tail; loaded bytes cannot.
    riders = [p for p in elf.phdrs if p.filesz and not p.memsz and p.offset >= cut]
    if any(p.filesz and p is not last and p.file_end > cut and p not in riders for p in elf.phdrs):
        return None
    if any(s.allocated and s.in_file and s.offset + s.size > cut for s in elf.shdrs):
        return None
    if elf.phdrs and elf.phoff + len(elf.phdrs) * elf.phentsize > cut:
        return None
    tail = [s for s in elf.shdrs[1:] if s.offset >= cut and not s.allocated]
    start = first_start(blobs, last.offset + last.memsz)
    offsets, end = pack(blobs, start)
    tail_align = max([16, *(s.addralign for s in tail if s.addralign <= PAGE)])
    shift = align(end - cut, tail_align)
    out[cut:cut] = bytes(shift)
    for section in tail:
        section.offset += shift
    for p in riders:
        p.offset += shift
    if elf.shdrs and elf.shoff >= cut:
        elf.ehdr[5] += shift
    last.filesz = last.memsz = end - last.offset
    where = {n: (o, last.vaddr + (o - last.offset)) for n, o in offsets.items()}
    return Placement(EditMethod.EXTEND, where)


def place(elf: ElfStructure, out: bytearray, blobs: list[Blob], *, writable: bool) -> Placement:
    """Find room for ``blobs`` (mutating the headers of ``elf`` and the bytes ``out`` to make it)
    and say where each goes. ``writable``: the room must be in a writable segment."""
    if not elf.loads:
        raise ElfEditError("the file has no loadable segment", path=elf.name)
    for attempt in (_try_gap, _try_extend, _new_segment):
        placement = attempt(elf, out, blobs, writable)
        if placement is not None:
            _check_addressable(elf, placement, blobs, len(out))
            return placement
    raise AssertionError("a new segment is always found or refused")


def _new_segment(
    elf: ElfStructure, out: bytearray, blobs: list[Blob], writable: bool
) -> Placement | None:
    return new_segment(elf, out, blobs, writable)


def _check_addressable(
    elf: ElfStructure, placement: Placement, blobs: list[Blob], size: int
) -> None:
    """The room found must lie below the end of the address space of the file's class (a
    hostile segment size can put the end of memory past it)."""
    limit = 1 << (8 * elf.layout.word_size)
    sizes = {b.name: b.size for b in blobs}
    ends = [size, *(vaddr + sizes[name] for name, (_, vaddr) in placement.where.items())]
    ends += [p.mem_end for p in elf.phdrs] + [p.file_end for p in elf.phdrs]
    if max(ends) > limit:
        raise ElfEditError(
            f"no room below the {limit:#x} address limit of a {8 * elf.layout.word_size}-bit file",
            path=elf.name,
        )
