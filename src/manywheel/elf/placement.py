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
   headers gets the table moved to the start of the new segment instead (``strip`` cannot process
   such a file anyway); an executable's new table is then placed at the same address/offset
   distance as its first segment, so that kernels before 5.18 still find it.

New space is aligned for 64 KiB pages (the largest Linux uses, on aarch64, ppc64 and loongarch64;
a multiple of every smaller page size) whatever the file's own alignment, so the result loads on
64 KiB-page kernels whenever the input did: no segment gains a page that another one maps.
Every segment keeps ``p_offset % p_align == p_vaddr % p_align``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import pairwise

from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SegmentFlag as PF
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.structure import ElfStructure, ProgramHeader, SectionHeader, header_size
from manywheel.elf.symbols import section_indices
from manywheel.errors import ElfEditError

__all__ = ["BSS_LIMIT", "PAGE", "Blob", "EditMethod", "Placement", "place"]

PAGE = 0x10000
#: The largest .bss written out as zeros to extend the last segment (beyond it, a new segment).
BSS_LIMIT = 16 * 2**20

SHF_WRITE, SHF_EXECINSTR, SHF_TLS = 0x1, 0x4, 0x400
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH = 1, 2, 3, 4, 5
SHT_NOTE, SHT_REL, SHT_DYNSYM, SHT_RELR = 7, 9, 11, 19
SHT_GNU_HASH, SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = (
    0x6FFFFFF6,
    0x6FFFFFFD,
    0x6FFFFFFE,
    0x6FFFFFFF,
)
_MOVABLE_TYPES = frozenset(
    {SHT_NOTE, SHT_HASH, SHT_GNU_HASH, SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERNEED}
    | {SHT_GNU_VERSYM, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_RELR}
)
DT_REL, DT_RELA, DT_JMPREL, DT_RELR = 17, 7, 23, 36
#: Dynamic tags pointing at a table that may move: the pointer moves with it.
_MOVABLE_TAGS = frozenset(
    {DT.HASH, DT.GNU_HASH, DT.SYMTAB, DT.STRTAB, DT.VERSYM, DT.VERNEED, DT.VERDEF}
    | {DT_REL, DT_RELA, DT_JMPREL, DT_RELR}
)
#: Tags whose value is an address (gABI d_ptr tags, and DT_ADDRRNGLO..DT_ADDRRNGHI).
_ADDRESS_TAGS = frozenset({3, 4, 5, 6, 7, 12, 13, 17, 21, 23, 25, 26, 32, 34, 36})
_MOVABLE_SEGMENTS = frozenset({PT.INTERP, PT.NOTE, PT.GNU_PROPERTY})


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


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _aligned(value: int, blob: Blob) -> int:
    """The smallest offset >= ``value`` where ``blob`` may start."""
    align = max(blob.align, 1)
    return value + (blob.phase - value) % align


def _pack(blobs: Sequence[Blob], start: int) -> tuple[dict[str, int], int]:
    """Offsets of ``blobs`` laid out one after another from ``start``, and where they end."""
    at, offsets = start, {}
    for blob in blobs:
        at = _aligned(at, blob)
        offsets[blob.name] = at
        at += blob.size
    return offsets, at


def _first_start(blobs: Sequence[Blob], start: int) -> int:
    return _aligned(start, blobs[0])


def _overlaps(lo: int, hi: int, start: int, end: int) -> bool:
    return start < hi and lo < end


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
        return not any(_overlaps(lo, hi, s, e) for s, e in self.file_ranges(skip))

    def memory_free(self, lo: int, hi: int, skip: ProgramHeader) -> bool:
        elf = self.elf
        for p in elf.phdrs:
            busy = p is not skip and p.memsz > 0 and p.p_type != PT.GNU_STACK
            if busy and _overlaps(lo, hi, p.vaddr, p.mem_end):
                return False
        for s in elf.shdrs:
            held = s.allocated and not s.flags & SHF_TLS and s.size > 0
            if held and _overlaps(lo, hi, s.addr, s.addr + s.size):
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
        start = _first_start(blobs, load.file_end)
        offsets, end = _pack(blobs, start)
        end_vaddr = load.vaddr + (end - load.offset)
        pages_end = _align(load.mem_end, PAGE)
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
    start = _first_start(blobs, last.offset + last.memsz)
    offsets, end = _pack(blobs, start)
    tail_align = max([16, *(s.addralign for s in tail if s.addralign <= PAGE)])
    shift = _align(end - cut, tail_align)
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


@dataclass(slots=True)
class _Block:
    """Sections after the program header table that move to make room for one more entry."""

    start: int
    end: int
    vaddr: int
    align: int
    sections: list[int]
    segments: list[ProgramHeader]


def _block_after_headers(elf: ElfStructure) -> _Block | None:
    """The sections (and the segments that are exactly theirs) lying in the way of one more
    program header; ``None`` when the table already has room. Raises ElfEditError when what lies
    there cannot be moved safely."""
    table_end = elf.phoff + len(elf.phdrs) * elf.phentsize
    hi = table_end + elf.phentsize
    chosen: set[int] = set()
    segments: list[ProgramHeader] = []
    while True:  # what overlaps the room needed, and what overlaps that, ...
        more = {
            i
            for i, s in enumerate(elf.shdrs)
            if i and s.in_file and i not in chosen and _overlaps(table_end, hi, s.offset, s.end)
        }
        spans = [
            p
            for p in elf.phdrs
            if p.p_type != PT.LOAD
            and p.filesz
            and p not in segments
            and _overlaps(table_end, hi, p.offset, p.file_end)
        ]
        if not more and not spans:
            break
        chosen |= more
        segments += spans
        hi = max([hi, *(elf.shdrs[i].end for i in chosen), *(p.file_end for p in segments)])
    if not chosen:
        return None
    if any(elf.shdrs[i].offset < table_end for i in chosen):
        raise _no_room(elf, "a section overlaps the program header table")
    sections = sorted(chosen, key=lambda i: elf.shdrs[i].offset)
    for i in sections:
        _check_movable(elf, elf.shdrs[i])
    first = elf.shdrs[sections[0]]
    start = first.offset
    end = max(elf.shdrs[i].end for i in sections)
    for p in segments:
        if p.p_type not in _MOVABLE_SEGMENTS or p.offset < start or p.file_end > end:
            raise _no_room(elf, f"a {_segment_name(p)} segment lies across it")
    align = max([8, *(elf.shdrs[i].addralign for i in sections)])
    return _Block(start, end, first.addr - (first.offset - start), align, sections, segments)


def _segment_name(p: ProgramHeader) -> str:
    try:
        return f"PT_{PT(p.p_type).name}"
    except ValueError:
        return f"0x{p.p_type:x}"


def _no_room(elf: ElfStructure, why: str) -> ElfEditError:
    return ElfEditError(
        f"no room for one more program header and the sections after the table cannot move: "
        f"{why} (patchelf rewrites such files; --patcher patchelf)",
        path=elf.name,
    )


def _check_movable(elf: ElfStructure, section: SectionHeader) -> None:
    interp = elf.segment(PT.INTERP)
    is_interp = (
        section.name == ".interp"
        and section.sh_type == SHT_PROGBITS
        and interp is not None
        and (interp.offset, interp.filesz) == (section.offset, section.size)
    )
    if not section.allocated or section.flags & (SHF_WRITE | SHF_EXECINSTR):
        raise _no_room(elf, f"section {section.name or '?'} is code, data or not loaded")
    if not is_interp and section.sh_type not in _MOVABLE_TYPES:
        raise _no_room(
            elf,
            f"section {section.name or '?'} (type 0x{section.sh_type:x}) may be referenced by code",
        )


def _new_segment_headers(elf: ElfStructure, region: ProgramHeader) -> None:
    """Insert ``region`` after the last PT_LOAD (loads stay sorted by address)."""
    last = max(i for i, p in enumerate(elf.phdrs) if p.p_type == PT.LOAD)
    elf.phdrs.insert(last + 1, region)
    elf.ehdr[9] = len(elf.phdrs)


def _region(elf: ElfStructure, offset: int, vaddr: int, size: int, writable: bool) -> ProgramHeader:
    align = max(p.align for p in elf.loads)
    flags = PF.R | (PF.W if writable else 0)
    return ProgramHeader(PT.LOAD, int(flags), offset, vaddr, vaddr, size, size, align)


def _memory_end(elf: ElfStructure) -> int:
    ends = [p.mem_end for p in elf.phdrs if p.memsz and p.p_type != PT.GNU_STACK]
    ends += [s.addr + s.size for s in elf.shdrs if s.allocated and not s.flags & SHF_TLS]
    return max(ends)


def _new_segment(elf: ElfStructure, out: bytearray, blobs: list[Blob], writable: bool) -> Placement:
    loads = elf.loads
    page = max([PAGE, *(p.align for p in loads)])
    base = _align(_memory_end(elf), page)
    if elf.shdrs:
        return _new_segment_moving_sections(elf, out, blobs, writable, page=page, base=base)
    return _new_segment_moving_table(elf, out, blobs, writable, page=page, base=base)


def _new_segment_moving_sections(
    elf: ElfStructure, out: bytearray, blobs: list[Blob], writable: bool, *, page: int, base: int
) -> Placement:
    first = min(elf.loads, key=lambda p: p.offset)
    table_end = elf.phoff + (len(elf.phdrs) + 1) * elf.phentsize
    if not first.offset <= elf.phoff or table_end > first.file_end:
        raise _no_room(elf, "the program header table is not at the start of a segment")
    block = _block_after_headers(elf)
    if block is not None:
        blobs = [
            Blob("moved", block.end - block.start, block.align, block.start % block.align),
            *blobs,
        ]
    offset = _first_start(blobs, _align(len(out), 16))
    offsets, end = _pack(blobs, offset)
    vaddr = base + offset % page
    out.extend(bytes(end - len(out)))
    region = _region(elf, offset, vaddr, end - offset, writable)
    where = {n: (o, vaddr + (o - offset)) for n, o in offsets.items()}
    placement = Placement(EditMethod.NEW_SEGMENT, where)
    if block is not None:
        _move_block(elf, out, block, where.pop("moved"), placement)
    _new_segment_headers(elf, region)
    phdr = elf.segment(PT.PHDR)
    if phdr is not None:
        phdr.filesz = phdr.memsz = len(elf.phdrs) * elf.phentsize
    placement.rewritten.append(
        (first.vaddr + (elf.phoff - first.offset), first.vaddr + (table_end - first.offset))
    )
    return placement


def _move_block(
    elf: ElfStructure, out: bytearray, block: _Block, to: tuple[int, int], placement: Placement
) -> None:
    new_offset, new_vaddr = to
    d_offset, d_vaddr = new_offset - block.start, new_vaddr - block.vaddr
    v_lo, v_hi = block.vaddr, block.vaddr + (block.end - block.start)
    _check_references(elf, block, v_lo, v_hi)
    out[new_offset : new_offset + block.end - block.start] = out[block.start : block.end]
    out[block.start : block.end] = bytes(block.end - block.start)
    for i in block.sections:
        section = elf.shdrs[i]
        section.offset += d_offset
        section.addr += d_vaddr
    for p in block.segments:
        p.move(p.offset + d_offset, p.vaddr + d_vaddr)
    assert elf.dynamic is not None
    elf.dynamic.entries = [
        (t, v + d_vaddr if t in _MOVABLE_TAGS and v_lo <= v < v_hi else v)
        for t, v in elf.dynamic.entries
    ]
    placement.rewritten_file += _move_symbols(elf, out, set(block.sections), d_vaddr)
    placement.rewritten.append((v_lo, v_hi))


def _check_references(elf: ElfStructure, block: _Block, lo: int, hi: int) -> None:
    assert elf.dynamic is not None
    for tag, value in elf.dynamic.entries:
        pointer = tag in _ADDRESS_TAGS or 0x6FFFFE00 <= tag <= 0x6FFFFEFF or tag >= 0x70000000
        if pointer and lo <= value < hi and tag not in _MOVABLE_TAGS:
            raise _no_room(elf, f"dynamic entry 0x{tag:x} points into the sections that would move")
    dynsym = next((s for s in elf.shdrs if s.sh_type == SHT_DYNSYM), None)
    if dynsym is not None and dynsym.entsize == elf.layout.sym.size:
        raw = elf.data[dynsym.offset : dynsym.offset + dynsym.size]
        moved = set(block.sections)
        if any(i in moved for i in section_indices(raw, elf.layout)):
            raise _no_room(elf, "a dynamic symbol is defined in the sections that would move")


def _move_symbols(
    elf: ElfStructure, out: bytearray, moved: set[int], d_vaddr: int
) -> list[tuple[int, int]]:
    """Symbols of .symtab defined in moved sections follow them (section symbols, __abi_tag);
    returns the file ranges of the values rewritten."""
    layout = elf.layout
    changed = []
    size = layout.sym.size
    value_at = 8 if layout.is64 else 4
    for symtab in (s for s in elf.shdrs if s.sh_type == SHT_SYMTAB and s.entsize == size):
        raw = bytes(out[symtab.offset : symtab.offset + symtab.size - symtab.size % size])
        for k, shndx in enumerate(section_indices(raw, layout)):
            if shndx in moved:
                at = symtab.offset + k * size + value_at
                value = layout.xword.unpack_from(out, at)[0]
                layout.xword.pack_into(out, at, value + d_vaddr)
                changed.append((at, at + layout.xword.size))
    return changed


def _new_segment_moving_table(
    elf: ElfStructure, out: bytearray, blobs: list[Blob], writable: bool, *, page: int, base: int
) -> Placement:
    table = Blob("phdrs", (len(elf.phdrs) + 1) * elf.phentsize, elf.layout.word_size)
    blobs = [table, *blobs]
    first = min(elf.loads, key=lambda p: p.offset)
    delta = first.vaddr - first.offset
    if elf.segment(PT.INTERP) is not None:  # AT_PHDR = first segment's delta + e_phoff
        if delta % page:
            raise _no_room(elf, "the first segment's address and offset differ by less than a page")
        vaddr = base
        while vaddr - delta < len(out):
            vaddr += page
        offset = vaddr - delta
    else:
        offset = _align(len(out), 16)
        vaddr = base + offset % page
    offsets, end = _pack(blobs, offset)
    out.extend(bytes(end - len(out)))
    where = {n: (o, vaddr + (o - offset)) for n, o in offsets.items()}
    _new_segment_headers(elf, _region(elf, offset, vaddr, end - offset, writable))
    table_offset, table_vaddr = where.pop("phdrs")
    elf.ehdr[4] = table_offset
    phdr = elf.segment(PT.PHDR)
    if phdr is not None:
        phdr.move(table_offset, table_vaddr)
        phdr.filesz = phdr.memsz = table.size
    return Placement(EditMethod.NEW_SEGMENT, where)


def place(elf: ElfStructure, out: bytearray, blobs: list[Blob], *, writable: bool) -> Placement:
    """Find room for ``blobs`` (mutating the headers of ``elf`` and the bytes ``out`` to make it)
    and say where each goes. ``writable``: the room must be in a writable segment."""
    if not elf.loads:
        raise ElfEditError("the file has no loadable segment", path=elf.name)
    for attempt in (_try_gap, _try_extend):
        placement = attempt(elf, out, blobs, writable)
        if placement is not None:
            return placement
    return _new_segment(elf, out, blobs, writable)
