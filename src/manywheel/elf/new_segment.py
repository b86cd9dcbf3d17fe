"""A new PT_LOAD for bytes that fit nowhere else, after every address in use, as the gABI
allows. The program header table needs one more entry:

- when sections follow it that nothing but the dynamic section and the program headers point to
  (.interp, notes, hash tables, .dynsym, version tables), they move into the new segment (with
  the segments that are exactly theirs, the dynamic entries that point at them, and the .symtab
  symbols defined in them) and the table grows where it is: the layout linkers produce, the one
  ``strip`` and kernels before 5.18 (which compute AT_PHDR from the first segment) understand;
- a file without section headers cannot say what lies after the table, and is refused: moving
  the table instead (to the new segment) would make a file that kernels before 5.18 (for an
  executable) and readers that expect the table near the start (``manywheel show`` streaming a
  wheel member) miss. Such a file can still be edited in place, into a gap, or by extending its
  last segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from manywheel.elf.blobs import (
    PAGE,
    Blob,
    EditMethod,
    Placement,
    align,
    first_start,
    overlaps,
    pack,
)
from manywheel.elf.constants import DT_ADDRRNGHI, DT_ADDRRNGLO, DT_LOPROC
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SectionFlag as SHF
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.constants import SegmentFlag as PF
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.structure import ElfStructure, ProgramHeader, SectionHeader
from manywheel.elf.symbols import section_indices
from manywheel.errors import ElfEditError

__all__ = ["new_segment"]

_MOVABLE_TYPES = frozenset(
    {SHT.NOTE, SHT.HASH, SHT.GNU_HASH, SHT.DYNSYM, SHT.GNU_VERDEF, SHT.GNU_VERNEED}
    | {SHT.GNU_VERSYM, SHT.STRTAB, SHT.RELA, SHT.REL, SHT.RELR}
)
#: Dynamic tags pointing at a table that may move: the pointer moves with it.
_MOVABLE_TAGS = frozenset(
    {DT.HASH, DT.GNU_HASH, DT.SYMTAB, DT.STRTAB, DT.VERSYM, DT.VERNEED, DT.VERDEF}
    | {DT.REL, DT.RELA, DT.JMPREL, DT.RELR}
)
#: Tags whose value is an address (gABI d_ptr tags, and DT_ADDRRNGLO..DT_ADDRRNGHI).
_ADDRESS_TAGS = frozenset(
    {DT.PLTGOT, DT.HASH, DT.STRTAB, DT.SYMTAB, DT.RELA, DT.INIT, DT.FINI, DT.REL, DT.DEBUG}
    | {DT.JMPREL, DT.INIT_ARRAY, DT.FINI_ARRAY, DT.PREINIT_ARRAY, DT.SYMTAB_SHNDX, DT.RELR}
)
_MOVABLE_SEGMENTS = frozenset({PT.INTERP, PT.NOTE, PT.GNU_PROPERTY})


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
            if i and s.in_file and i not in chosen and overlaps(table_end, hi, s.offset, s.end)
        }
        spans = [
            p
            for p in elf.phdrs
            if p.p_type != PT.LOAD
            and p.filesz
            and p not in segments
            and overlaps(table_end, hi, p.offset, p.file_end)
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
        and section.sh_type == SHT.PROGBITS
        and interp is not None
        and (interp.offset, interp.filesz) == (section.offset, section.size)
    )
    if not section.allocated or section.flags & (SHF.WRITE | SHF.EXECINSTR):
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
    ends += [s.addr + s.size for s in elf.shdrs if s.allocated and not s.flags & SHF.TLS]
    return max(ends)


def new_segment(elf: ElfStructure, out: bytearray, blobs: list[Blob], writable: bool) -> Placement:
    loads = elf.loads
    page = max([PAGE, *(p.align for p in loads)])
    base = align(_memory_end(elf), page)
    if not elf.shdrs:
        raise _no_room(
            elf,
            "the file has no section headers to say what lies after the program header table "
            "(a table moved elsewhere is one that stream readers and old kernels miss)",
        )
    return _new_segment_moving_sections(elf, out, blobs, writable, page=page, base=base)


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
    offset = first_start(blobs, align(len(out), 16))
    offsets, end = pack(blobs, offset)
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
        pointer = tag in _ADDRESS_TAGS or DT_ADDRRNGLO <= tag <= DT_ADDRRNGHI or tag >= DT_LOPROC
        if pointer and lo <= value < hi and tag not in _MOVABLE_TAGS:
            raise _no_room(elf, f"dynamic entry 0x{tag:x} points into the sections that would move")
    dynsym = next((s for s in elf.shdrs if s.sh_type == SHT.DYNSYM), None)
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
    for symtab in (s for s in elf.shdrs if s.sh_type == SHT.SYMTAB and s.entsize == size):
        raw = bytes(out[symtab.offset : symtab.offset + symtab.size - symtab.size % size])
        for k, shndx in enumerate(section_indices(raw, layout)):
            if shndx in moved:
                at = symtab.offset + k * size + value_at
                value = layout.xword.unpack_from(out, at)[0]
                layout.xword.pack_into(out, at, value + d_vaddr)
                changed.append((at, at + layout.xword.size))
    return changed
