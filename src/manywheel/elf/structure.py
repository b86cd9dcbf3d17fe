"""The editable structure of an ELF file: the ELF header's fields, the program headers, the
section headers and the dynamic array, as raw mutable records that pack back to the same bytes.

This is the writer's view of a file; the reader's immutable facts (:class:`ElfFile`) come from
:mod:`manywheel.elf.reader`. Parsing is bounds-checked and raises :class:`InvalidElfError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from manywheel.elf.constants import SectionFlag as SHF
from manywheel.elf.constants import SectionIndex as SHN
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.dynamic import dynamic_entries
from manywheel.elf.headers import header_value, read_raw_header
from manywheel.elf.layout import IDENT, BufferImage, Layout
from manywheel.elf.model import ElfHeader
from manywheel.errors import InvalidElfError

__all__ = ["DynamicArray", "ElfStructure", "ProgramHeader", "SectionHeader", "header_size"]

#: Offsets of e_phoff/e_shoff/e_phnum/e_shnum inside the header fields tuple.
E_PHOFF, E_SHOFF, E_PHNUM, E_SHNUM, E_SHSTRNDX = 4, 5, 9, 11, 12
#: The segment types looked up on every edit, as plain ints (an enum member's attribute
#: lookup costs ten times a global's).
_PT_LOAD, _PT_DYNAMIC = int(PT.LOAD), int(PT.DYNAMIC)
_SHF_ALLOC = int(SHF.ALLOC)


@dataclass(slots=True)
class ProgramHeader:
    """One program header, in the same field order for ELF32 and ELF64."""

    p_type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @classmethod
    def unpack(cls, layout: Layout, raw: tuple[int, ...]) -> ProgramHeader:
        if layout.is64:
            p_type, flags, offset, vaddr, paddr, filesz, memsz, align = raw
        else:
            p_type, offset, vaddr, paddr, filesz, memsz, flags, align = raw
        return cls(p_type, flags, offset, vaddr, paddr, filesz, memsz, align)

    def pack(self, layout: Layout) -> bytes:
        if layout.is64:
            fields = (self.p_type, self.flags, self.offset, self.vaddr, self.paddr)
            return layout.phdr.pack(*fields, self.filesz, self.memsz, self.align)
        return layout.phdr.pack(
            self.p_type,
            self.offset,
            self.vaddr,
            self.paddr,
            self.filesz,
            self.memsz,
            self.flags,
            self.align,
        )

    @property
    def file_end(self) -> int:
        return self.offset + self.filesz

    @property
    def mem_end(self) -> int:
        return self.vaddr + self.memsz

    def move(self, offset: int, vaddr: int) -> None:
        """Point the header at ``offset``/``vaddr`` (paddr follows vaddr by the same amount)."""
        self.paddr += vaddr - self.vaddr
        self.offset, self.vaddr = offset, vaddr


@dataclass(slots=True)
class SectionHeader:
    name_offset: int
    sh_type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    #: The section name table (shared by all headers of a file; empty without one).
    names: bytes = field(default=b"", repr=False, compare=False)

    @property
    def name(self) -> str:
        """Decoded through e_shstrndx ("" when there is no name table)."""
        end = self.names.find(b"\0", self.name_offset)
        if not 0 <= self.name_offset < end:
            return ""
        return self.names[self.name_offset : end].decode("utf-8", "replace")

    def pack(self, layout: Layout) -> bytes:
        return layout.shdr.pack(
            self.name_offset,
            self.sh_type,
            self.flags,
            self.addr,
            self.offset,
            self.size,
            self.link,
            self.info,
            self.addralign,
            self.entsize,
        )

    @property
    def end(self) -> int:
        """The file offset just past the section's bytes."""
        return self.offset + self.size

    @property
    def in_file(self) -> bool:
        """Occupies bytes of the file (not SHT_NOBITS, not empty)."""
        return self.sh_type != SHT.NOBITS and self.size > 0

    @property
    def allocated(self) -> bool:
        return bool(self.flags & SHF.ALLOC)


class DynamicArray:
    """The entries of PT_DYNAMIC up to DT_NULL, and how many entries the segment has room for."""

    __slots__ = ("_entries", "capacity", "first")

    def __init__(self, entries: list[tuple[int, int]], capacity: int) -> None:
        self._entries = entries
        self.capacity = capacity
        #: The value of the first entry with a tag (``None`` without one).
        self.first: Callable[[int], int | None] = dict(reversed(entries)).get

    @property
    def entries(self) -> list[tuple[int, int]]:
        return self._entries

    @entries.setter
    def entries(self, entries: list[tuple[int, int]]) -> None:
        self._entries = entries
        self.first = dict(reversed(entries)).get

    def pack(self, layout: Layout, capacity: int | None = None) -> bytes:
        """The array with DT_NULL padding up to ``capacity`` entries (default: its own)."""
        slots = self.capacity if capacity is None else capacity
        if len(self._entries) >= slots:
            raise ValueError(f"{len(self._entries)} dynamic entries do not fit in {slots} slots")
        flat = [value for entry in self._entries for value in entry]
        body = struct.pack(layout.endian + layout.dyn.format[1:] * len(self._entries), *flat)
        return body + bytes(layout.dyn.size * (slots - len(self._entries)))


class ElfStructure:
    """The raw headers of one ELF file and its dynamic array, ready to be edited and packed.
    Section headers are read when first asked for."""

    __slots__ = (
        "_header",
        "_ident",
        "_shdrs",
        "data",
        "dynamic",
        "ehdr",
        "layout",
        "memo",
        "name",
        "phdrs",
    )

    def __init__(  # noqa: PLR0917 - the parts of one parse
        self,
        name: str,
        data: bytes,
        layout: Layout,
        ident: tuple[int, int],
        ehdr: list[int],
        phdrs: list[ProgramHeader],
    ) -> None:
        self.name = name
        self.data = data
        self.layout = layout
        self._ident = ident  # (EI_OSABI, EI_ABIVERSION)
        self._header: ElfHeader | None = None
        #: e_type ... e_shstrndx as unpacked (see ``Layout.ehdr``).
        self.ehdr = ehdr
        self.phdrs = phdrs
        self.dynamic: DynamicArray | None = None
        self._shdrs: list[SectionHeader] | None = None
        #: Facts derived from the unchanged bytes, kept by the modules that derive them.
        self.memo: dict[str, object] = {}

    @classmethod
    def parse(cls, data: bytes, name: str) -> ElfStructure:
        image = BufferImage(data, name)
        layout, raw, ident = read_raw_header(image)
        ehdr = list(raw)
        elf = cls(name, data, layout, ident, ehdr, _program_headers(image, layout, ehdr))
        elf.dynamic = _dynamic_array(image, layout, elf.segment(_PT_DYNAMIC))
        return elf

    @property
    def header(self) -> ElfHeader:
        """The ELF header, as the reader gives it (of the fields as parsed)."""
        if self._header is None:
            self._header = header_value(self.layout, tuple(self.ehdr), *self._ident)
        return self._header

    @property
    def e_type(self) -> int:
        return self.ehdr[0]

    @property
    def e_machine(self) -> int:
        return self.ehdr[1]

    @property
    def shdrs(self) -> list[SectionHeader]:
        """The section headers (empty without a table); index 0 is the null section."""
        if self._shdrs is None:
            self._shdrs = _section_headers(
                BufferImage(self.data, self.name), self.layout, self.ehdr
            )
        return self._shdrs

    # -- queries ------------------------------------------------------------------------------

    def segment(self, p_type: int) -> ProgramHeader | None:
        for p in self.phdrs:
            if p.p_type == p_type:
                return p
        return None

    @property
    def loads(self) -> list[ProgramHeader]:
        return [p for p in self.phdrs if p.p_type == _PT_LOAD]

    def section_size(self, sh_type: int, addr: int) -> tuple[int, int] | None:
        """(sh_size, sh_entsize) of the allocated section of ``sh_type`` at ``addr``, read from
        the raw table without building every header."""
        if self._shdrs is not None:
            found = self.section_at(addr, sh_type)
            return None if found is None else (found.size, found.entsize)
        shoff, shnum = self.ehdr[E_SHOFF], self.ehdr[E_SHNUM]
        shdr = self.layout.shdr
        size = shdr.size
        if not shoff or not shnum or self.ehdr[10] != size or shoff + shnum * size > len(self.data):
            return None if not shoff or shnum else self._section_size_slow(sh_type, addr)
        for row in shdr.iter_unpack(self.data[shoff : shoff + shnum * size]):
            if row[1] == sh_type and row[3] == addr and row[2] & _SHF_ALLOC:
                return row[5], row[9]
        return None

    def _section_size_slow(self, sh_type: int, addr: int) -> tuple[int, int] | None:
        found = self.section_at(addr, sh_type)
        return None if found is None else (found.size, found.entsize)

    def section(self, name: str) -> SectionHeader | None:
        return next((s for s in self.shdrs if s.name == name), None)

    def section_at(self, addr: int, sh_type: int) -> SectionHeader | None:
        """The allocated section of type ``sh_type`` that starts at ``addr``."""
        return next(
            (s for s in self.shdrs if s.addr == addr and s.sh_type == sh_type and s.allocated),
            None,
        )

    def load_of(self, vaddr: int, size: int) -> ProgramHeader | None:
        """The PT_LOAD whose file image holds ``size`` bytes at ``vaddr``."""
        for p in self.phdrs:
            if p.p_type == _PT_LOAD and p.vaddr <= vaddr and vaddr + size <= p.vaddr + p.filesz:
                return p
        return None

    def load_of_offset(self, offset: int) -> ProgramHeader | None:
        """The PT_LOAD whose file image holds the byte at ``offset``."""
        for p in self.phdrs:
            if p.p_type == _PT_LOAD and p.offset <= offset < p.file_end:
                return p
        return None

    def offset_of(self, vaddr: int, size: int, what: str) -> int:
        """The file offset of ``size`` bytes at ``vaddr`` (inside one PT_LOAD's file image)."""
        load = self.load_of(vaddr, size)
        if load is None:
            raise InvalidElfError(
                f"{what} at address 0x{vaddr:x} (0x{size:x} bytes) is not in any loaded segment",
                path=self.name,
            )
        end = load.offset + (vaddr - load.vaddr) + size
        if end > len(self.data):
            raise InvalidElfError(f"{what} runs past the end of the file", path=self.name)
        return load.offset + (vaddr - load.vaddr)

    @property
    def phoff(self) -> int:
        return self.ehdr[E_PHOFF]

    @property
    def shoff(self) -> int:
        return self.ehdr[E_SHOFF]

    @property
    def phentsize(self) -> int:
        return self.layout.phdr.size

    # -- packing ------------------------------------------------------------------------------

    def pack_ehdr(self) -> bytes:
        return self.layout.ehdr.pack(*self.ehdr)

    def pack_phdrs(self) -> bytes:
        return b"".join(p.pack(self.layout) for p in self.phdrs)

    def pack_shdrs(self) -> bytes:
        return b"".join(s.pack(self.layout) for s in self.shdrs)


def _program_headers(image: BufferImage, layout: Layout, ehdr: list[int]) -> list[ProgramHeader]:
    phoff, phentsize, phnum = ehdr[E_PHOFF], ehdr[8], ehdr[E_PHNUM]
    if phnum == 0:
        return []
    if phentsize != layout.phdr.size:
        raise InvalidElfError(
            f"e_phentsize is {phentsize}, expected {layout.phdr.size}", path=image.name
        )
    table = image.read(phoff, phnum * phentsize, "program header table")
    rows = layout.phdr.iter_unpack(table)
    if layout.is64:  # the fields are in ProgramHeader's order
        return [ProgramHeader(*row) for row in rows]
    return [ProgramHeader.unpack(layout, row) for row in rows]


def _section_headers(image: BufferImage, layout: Layout, ehdr: list[int]) -> list[SectionHeader]:
    shoff, shentsize, shnum, shstrndx = ehdr[E_SHOFF], ehdr[10], ehdr[E_SHNUM], ehdr[E_SHSTRNDX]
    if shoff == 0:
        return []
    if shentsize != layout.shdr.size:
        raise InvalidElfError(
            f"e_shentsize is {shentsize}, expected {layout.shdr.size}", path=image.name
        )
    if shnum == 0:  # extended numbering: the count is in section 0's sh_size
        shnum = layout.shdr.unpack(image.read(shoff, shentsize, "section header 0"))[5]
    rows = list(layout.shdr.iter_unpack(image.read(shoff, shnum * shentsize, "section headers")))
    if shstrndx == SHN.XINDEX and rows:
        shstrndx = rows[0][6]
    names = b""
    if 0 < shstrndx < len(rows) and rows[shstrndx][1] != SHT.NOBITS:
        names = image.read(rows[shstrndx][4], rows[shstrndx][5], "section name table")
    headers = []
    for name, sh_type, flags, addr, offset, size, link, info, align, entsize in rows:
        headers.append(
            SectionHeader(
                name, sh_type, flags, addr, offset, size, link, info, align, entsize, names
            )
        )
    return headers


def _dynamic_array(
    image: BufferImage, layout: Layout, segment: ProgramHeader | None
) -> DynamicArray | None:
    if segment is None:
        return None
    raw = image.read(segment.offset, segment.filesz, "PT_DYNAMIC")
    entries, terminated = dynamic_entries(layout, raw)
    if not terminated:  # every slot is taken, and the loader would read past the array
        raise InvalidElfError("PT_DYNAMIC has no DT_NULL terminator", path=image.name)
    return DynamicArray(entries, len(raw) // layout.dyn.size)


def header_size(layout: Layout) -> int:
    """The size of the ELF header for ``layout`` (52 or 64 bytes)."""
    return IDENT.size + layout.ehdr.size
