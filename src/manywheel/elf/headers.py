"""The ELF header, program headers, section headers, PT_INTERP and PT_NOTE."""

from __future__ import annotations

from collections.abc import Sequence

from manywheel.elf.constants import ElfClass, ElfData, Machine
from manywheel.elf.constants import SectionIndex as SHN
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.layout import ELF_MAGIC, IDENT, Image, Layout, layout_for, phdr_fields
from manywheel.elf.model import AndroidIdent, ElfHeader, GnuProperties, Section, Segment
from manywheel.elf.notes import Note, parse_notes, summarize_notes
from manywheel.errors import InvalidElfError

__all__ = [
    "arch_of",
    "dynsym_size",
    "header_value",
    "read_header",
    "read_interpreter",
    "read_notes",
    "read_raw_header",
    "read_sections",
    "read_segments",
    "section_table_range",
]

_SIMPLE_ARCH = {
    Machine.AARCH64: "aarch64",
    Machine.S390: "s390x",
    Machine.RISCV: "riscv64",
    Machine.LOONGARCH: "loongarch64",
}


def _fail(image: Image, message: str, offset: int | None = None) -> InvalidElfError:
    return InvalidElfError(message, path=image.name, offset=offset)


def read_header(image: Image) -> tuple[Layout, ElfHeader, tuple[int, ...]]:
    """The layout, the header value and the raw e_* fields (for offsets and counts)."""
    layout, raw, (osabi, abiver) = read_raw_header(image)
    return layout, header_value(layout, raw, osabi, abiver), raw


def read_raw_header(image: Image) -> tuple[Layout, tuple[int, ...], tuple[int, int]]:
    """The layout, the raw e_* fields and (EI_OSABI, EI_ABIVERSION), checked as
    :func:`read_header` checks them (for a caller that needs no :class:`ElfHeader`)."""
    magic = image.read(0, min(image.size, len(ELF_MAGIC)), "ELF magic")
    if magic != ELF_MAGIC:
        raise _fail(image, f"not an ELF file (it starts with {magic!r})")
    if image.size < IDENT.size:
        raise _fail(image, f"too short for an ELF file ({image.size} bytes)")
    _, ei_class, ei_data, _ver, osabi, abiver = IDENT.unpack(image.read(0, 16, "e_ident"))
    layout = layout_for(ei_class, ei_data)
    if layout is None:
        raise _fail(image, f"invalid ELF class {ei_class} or data encoding {ei_data}", 4)
    raw = layout.ehdr.unpack(image.read(16, layout.ehdr.size, "ELF header"))
    ehsize = raw[7]
    if ehsize != IDENT.size + layout.ehdr.size:
        raise _fail(
            image,
            f"e_ehsize is {ehsize}, expected {IDENT.size + layout.ehdr.size} for "
            f"ELFCLASS{32 if ei_class == 1 else 64} (class and header disagree)",
            16,
        )
    return layout, raw, (osabi, abiver)


def header_value(layout: Layout, raw: tuple[int, ...], osabi: int, abiver: int) -> ElfHeader:
    """The :class:`ElfHeader` of raw e_* fields (see :func:`read_raw_header`)."""
    e_type, e_machine, _version, entry, _phoff, _shoff, flags = raw[:7]
    return ElfHeader(
        elf_class=ElfClass.ELF64 if layout.is64 else ElfClass.ELF32,
        data=ElfData.LSB if layout.endian == "<" else ElfData.MSB,
        osabi=osabi,
        abi_version=abiver,
        e_type=e_type,
        e_machine=e_machine,
        flags=flags,
        entry=entry,
    )


def read_segments(image: Image, layout: Layout, raw: tuple[int, ...]) -> tuple[Segment, ...]:
    """The program headers."""
    phoff, phentsize, phnum = raw[4], raw[8], raw[9]
    if phnum == 0:
        return ()
    if phentsize != layout.phdr.size:
        raise _fail(image, f"e_phentsize is {phentsize}, expected {layout.phdr.size}", 16)
    data = image.read(phoff, phnum * phentsize, "program header table")
    return tuple(Segment(*phdr_fields(layout, row)) for row in layout.phdr.iter_unpack(data))


def read_sections(image: Image, layout: Layout, raw: tuple[int, ...]) -> tuple[Section, ...]:
    """The section headers, named through e_shstrndx (empty without a table)."""
    shoff, shentsize, shnum, shstrndx = raw[5], raw[10], raw[11], raw[12]
    if shoff == 0:
        return ()
    if shentsize != layout.shdr.size:
        raise _fail(image, f"e_shentsize is {shentsize}, expected {layout.shdr.size}", 16)
    if shnum == 0:  # extended numbering: the count is in section 0's sh_size
        shnum = layout.shdr.unpack(image.read(shoff, shentsize, "section header 0"))[5]
    data = image.read(shoff, shnum * shentsize, "section header table")
    rows = list(layout.shdr.iter_unpack(data))
    if shstrndx == SHN.XINDEX and rows:  # the index is in section 0's sh_link
        shstrndx = rows[0][6]
    names = _section_names(image, rows, shstrndx)
    return tuple(Section(n, *row[1:]) for n, row in zip(names, rows, strict=True))


def section_table_range(raw: tuple[int, ...], layout: Layout) -> tuple[int, int] | None:
    """[start, end) of the section header table the ELF header fields ``raw`` give (``None``
    without one, or for extended numbering)."""
    shoff, shentsize, shnum = raw[5], raw[10], raw[11]
    if not shoff or not shnum or shentsize != layout.shdr.size:
        return None
    return shoff, shoff + shnum * shentsize


def dynsym_size(image: Image, layout: Layout, raw: tuple[int, ...]) -> tuple[int, int] | None:
    """(sh_addr, symbol count) of the .dynsym section, read from the section header table alone
    (no names: what a stream keeps), or ``None`` when the table is not there."""
    span = section_table_range(raw, layout)
    if span is None or not image.has(span[0], span[1] - span[0]):
        return None
    table = image.read(span[0], span[1] - span[0], "section header table")
    for row in layout.shdr.iter_unpack(table):
        if row[1] == SHT.DYNSYM and row[9] == layout.sym.size:
            return row[3], row[5] // row[9]
    return None


def _section_names(image: Image, rows: list[tuple[int, ...]], shstrndx: int) -> list[str]:
    if not 0 < shstrndx < len(rows):
        return [""] * len(rows)
    _, sh_type, _, _, offset, size, *_ = rows[shstrndx]
    table = image.read(offset, size, "section name table") if sh_type != SHT.NOBITS else b""
    names = []
    for row in rows:
        start = row[0]
        end = table.find(b"\0", start)
        names.append(table[start:end].decode("utf-8", "replace") if 0 <= start < end else "")
    return names


def arch_of(header: ElfHeader) -> str | None:
    """The platform-tag architecture (``uname -m`` spelling) the header says, if one."""
    is64 = header.elf_class == ElfClass.ELF64
    lsb = header.data == ElfData.LSB
    machine = header.e_machine
    if machine == Machine.X86_64:
        return "x86_64" if is64 else None
    if machine == Machine.I386:
        return None if is64 else "i686"
    if machine == Machine.ARM:
        ok = not is64 and lsb and header.arm_eabi_version == 5 and header.arm_hard_float
        return "armv7l" if ok else None
    if machine == Machine.PPC64 and is64:
        return "ppc64le" if lsb else "ppc64"
    return _SIMPLE_ARCH.get(machine) if is64 else None  # type: ignore[call-overload]


def read_interpreter(image: Image, segments: Sequence[Segment]) -> str | None:
    for seg in segments:
        if seg.p_type == PT.INTERP:
            raw = image.read(seg.offset, seg.filesz, "PT_INTERP")
            return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return None


def read_notes(
    image: Image, layout: Layout, segments: Sequence[Segment], sections: Sequence[Section] = ()
) -> tuple[bytes | None, GnuProperties, AndroidIdent | None]:
    """(build-id, GNU properties, Android ident) from the PT_NOTE segments, or from the SHT_NOTE
    sections of a file without any (relocatable objects)."""
    places = {(s.offset, s.filesz, s.align) for s in segments if s.p_type == PT.NOTE}
    if not places:
        places = {(s.offset, s.size, s.addralign) for s in sections if s.sh_type == SHT.NOTE}
    notes: list[Note] = []
    for offset, size, align in sorted(places):
        notes.extend(parse_notes(layout, image.read(offset, size, "notes"), align))
    return summarize_notes(layout, notes)
