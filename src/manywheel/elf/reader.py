"""From an :class:`~manywheel.elf.layout.Image` to an :class:`~manywheel.elf.model.ElfFile`, and
the two in-memory entry points (:func:`read_elf`, :func:`parse_elf`)."""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence

from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.constants import SegmentFlag
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.dynamic import AddressMap, gnu_hash_count, parse_dynamic, sysv_hash_count
from manywheel.elf.headers import (
    arch_of,
    dynsym_size,
    read_header,
    read_interpreter,
    read_notes,
    read_sections,
    read_segments,
)
from manywheel.elf.layout import BufferImage, Image, Layout
from manywheel.elf.model import ElfFile, Section, Segment, VersionDefinition, VersionNeed
from manywheel.elf.symbols import ImportGroup, SymbolTable, VersionSlot, read_symbol_table
from manywheel.elf.version_sections import (
    read_version_definitions,
    read_version_needs,
    version_slots,
)
from manywheel.errors import InvalidElfError, open_regular
from manywheel.lazy import lazy_logger
from manywheel.values import value_class

__all__ = ["parse_elf", "parse_image", "read_elf"]

log = lazy_logger(__name__)

_TABLE_TAGS = frozenset({DT.HASH, DT.GNU_HASH, DT.STRTAB, DT.VERSYM, DT.VERNEED, DT.VERDEF})
#: Tags whose value is a string-table offset, and tags that may appear only once.
_STRING_TAGS = (DT.NEEDED, DT.SONAME, DT.RPATH, DT.RUNPATH)


def read_elf(path: str | os.PathLike[str]) -> ElfFile:
    """Parse the ELF file at ``path`` (memory-mapped; the file is closed on return)."""
    name = os.fspath(path)
    with os.fdopen(open_regular(name), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise InvalidElfError("empty file, not an ELF file", path=name)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return parse_image(BufferImage(mm, name))  # type: ignore[arg-type]


def parse_elf(data: bytes | bytearray | memoryview, *, name: str = "<bytes>") -> ElfFile:
    """Parse an ELF file held in memory."""
    if isinstance(data, memoryview):
        data = data.cast("B")
    return parse_image(BufferImage(data, name))


@value_class
class _Dynamic:
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    flags: int
    flags_1: int
    version_needs: tuple[VersionNeed, ...]
    version_definitions: tuple[VersionDefinition, ...]
    symbols: SymbolTable
    imports: tuple[ImportGroup, ...]


_NO_DYNAMIC = _Dynamic((), None, (), (), 0, 0, (), (), SymbolTable(), ())


@value_class
class _Tables:
    """What locating the dynamic tables needs: the file, its layout, the first value of each
    dynamic tag, the address map and the section headers (possibly empty)."""

    image: Image
    layout: Layout
    tags: dict[int, int]
    addresses: AddressMap
    sections: Sequence[Section]
    strtab: bytes
    strtab_at: int
    #: (address, count) of .dynsym from the section header table when the sections themselves
    #: were not read (a stream keeps the table, not the names).
    dynsym: tuple[int, int] | None = None

    def string_at(self, offset: int) -> str:
        end = self.strtab.find(b"\0", offset)
        if not 0 <= offset < len(self.strtab) or end < 0:
            raise InvalidElfError(
                f"string offset 0x{offset:x} is outside the dynamic string table "
                f"(0x{len(self.strtab):x} bytes)",
                path=self.image.name,
                offset=self.strtab_at,
            )
        return self.strtab[offset:end].decode("utf-8", "surrogateescape")

    def offset(self, tag: DT, size: int) -> int | None:
        """The file offset of the table ``tag`` points to, or ``None`` without the tag."""
        if tag not in self.tags:
            return None
        return self.addresses.offset(self.tags[tag], size, f"DT_{tag.name}")


def parse_image(image: Image, *, with_sections: bool = True) -> ElfFile:
    """Every fact of the file in ``image``."""
    layout, header, raw = read_header(image)
    segments = read_segments(image, layout, raw)
    sections = read_sections(image, layout, raw) if with_sections else ()
    hint = None if with_sections else dynsym_size(image, layout, raw)
    dynamic = _read_dynamic(image, layout, segments, sections, hint)
    build_id, props, android = read_notes(image, layout, segments, sections)
    loads = [s for s in segments if s.p_type == PT.LOAD]
    stacks = [s for s in segments if s.p_type == PT.GNU_STACK]
    return ElfFile(
        name=image.name,
        header=header,
        arch=arch_of(header),
        interpreter=read_interpreter(image, segments),
        needed=dynamic.needed,
        soname=dynamic.soname,
        rpath=dynamic.rpath,
        runpath=dynamic.runpath,
        flags=dynamic.flags,
        flags_1=dynamic.flags_1,
        version_needs=dynamic.version_needs,
        version_definitions=dynamic.version_definitions,
        segments=segments,
        sections=sections,
        symbols=dynamic.symbols,
        imports=dynamic.imports,
        build_id=build_id,
        gnu_properties=props,
        executable_stack=bool(stacks[0].flags & SegmentFlag.X) if stacks else bool(loads),
        load_alignment=min(s.align for s in loads) if loads else None,
        android=android,
    )


def _read_dynamic(
    image: Image,
    layout: Layout,
    segments: Sequence[Segment],
    sections: Sequence[Section],
    dynsym: tuple[int, int] | None = None,
) -> _Dynamic:
    dyn_seg = next((s for s in segments if s.p_type == PT.DYNAMIC), None)
    if dyn_seg is None:
        return _NO_DYNAMIC
    entries = parse_dynamic(layout, image.read(dyn_seg.offset, dyn_seg.filesz, "PT_DYNAMIC"))
    tags: dict[int, int] = {}
    for tag, value in entries:
        tags.setdefault(tag, value)
    addresses = AddressMap(image, segments)
    strtab, strtab_at = _string_table(image, tags, addresses, sections)
    t = _Tables(image, layout, tags, addresses, sections, strtab, strtab_at, dynsym)
    needs: tuple[VersionNeed, ...] = ()
    definitions: tuple[VersionDefinition, ...] = ()
    start = t.offset(DT.VERNEED, 1)
    if start is not None:
        count = tags.get(DT.VERNEEDNUM, 0)
        needs = read_version_needs(image, layout, start, count, t.string_at)
    start = t.offset(DT.VERDEF, 1)
    if start is not None:
        count = tags.get(DT.VERDEFNUM, 0)
        definitions = read_version_definitions(image, layout, start, count, t.string_at)
    symbols, imports = _read_symbols(t, version_slots(needs, definitions))

    def strings(tag: DT) -> list[str]:
        return [t.string_at(v) for k, v in entries if k == tag]

    rpath, runpath, soname = strings(DT.RPATH), strings(DT.RUNPATH), strings(DT.SONAME)
    return _Dynamic(
        needed=tuple(strings(DT.NEEDED)),
        soname=soname[0] if soname else None,
        rpath=tuple(rpath[0].split(":")) if rpath else (),
        runpath=tuple(runpath[0].split(":")) if runpath else (),
        flags=tags.get(DT.FLAGS, 0),
        flags_1=tags.get(DT.FLAGS_1, 0),
        version_needs=needs,
        version_definitions=definitions,
        symbols=symbols,
        imports=imports,
    )


def _string_table(
    image: Image, tags: dict[int, int], addresses: AddressMap, sections: Sequence[Section]
) -> tuple[bytes, int]:
    """The dynamic string table's bytes and file offset."""
    if DT.STRTAB not in tags:
        return b"", 0
    size = tags.get(DT.STRSZ)
    if size is None:
        size = next(
            (s.size for s in sections if s.addr == tags[DT.STRTAB] and s.sh_type == SHT.STRTAB),
            None,
        )
    if size is None:
        raise InvalidElfError("DT_STRTAB without DT_STRSZ", path=image.name)
    offset = addresses.offset(tags[DT.STRTAB], size, "DT_STRTAB")
    return image.read(offset, size, "dynamic string table"), offset


def _symbol_count(t: _Tables, symtab_at: int) -> int:
    """How many dynamic symbols there are: the .dynsym section when there is one (as readelf),
    else DT_HASH's nchain, else DT_GNU_HASH (as the loader and readelf -D)."""
    image, layout = t.image, t.layout
    dynsym = next((s for s in t.sections if s.sh_type == SHT.DYNSYM), None)
    if dynsym and dynsym.entsize == layout.sym.size and dynsym.addr == t.tags[DT.SYMTAB]:
        return dynsym.size // layout.sym.size
    if t.dynsym is not None and t.dynsym[0] == t.tags[DT.SYMTAB]:
        return t.dynsym[1]
    at = t.offset(DT.HASH, 8)
    if at is not None:
        return sysv_hash_count(image, layout, at)
    at = t.offset(DT.GNU_HASH, 16)
    max_count = (image.size - symtab_at) // layout.sym.size
    if at is not None:
        count, complete = gnu_hash_count(image, layout, at, max_count)
        return count if complete else max(count, _gap_count(t, max_count))
    log.debug("%s: no DT_HASH, DT_GNU_HASH or .dynsym: dynamic symbols not counted", image.name)
    return 0


def _gap_count(t: _Tables, max_count: int) -> int:
    """The symbols that fit between DT_SYMTAB and the next table a dynamic entry points to (the
    layout every linker uses); 0 when that is not a whole number of symbols."""
    start = t.tags[DT.SYMTAB]
    later = [v for k, v in t.tags.items() if k in _TABLE_TAGS and v > start]
    if not later:
        return 0
    gap = min(later) - start
    count = gap // t.layout.sym.size
    return count if gap % t.layout.sym.size == 0 and count <= max_count else 0


def _read_symbols(
    t: _Tables, slots: tuple[VersionSlot | None, ...]
) -> tuple[SymbolTable, tuple[ImportGroup, ...]]:
    symtab_at = t.offset(DT.SYMTAB, t.layout.sym.size)
    if symtab_at is None:
        return SymbolTable(version_slots=slots), ()
    count = _symbol_count(t, symtab_at)
    if count * t.layout.sym.size > t.image.size - symtab_at:
        raise InvalidElfError(
            f"{count} dynamic symbols do not fit in the file", path=t.image.name, offset=symtab_at
        )
    t.offset(DT.SYMTAB, count * t.layout.sym.size)  # the whole table lies in one segment
    versym_at = t.offset(DT.VERSYM, 2 * count) if count else None
    return read_symbol_table(
        t.image,
        t.layout,
        symtab=(symtab_at, count),
        strtab=t.strtab,
        strtab_offset=t.strtab_at,
        versym_offset=versym_at,
        version_slots=slots,
    )
