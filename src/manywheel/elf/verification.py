"""The check every edit passes before its result is used: read the result again, and require the
intended dynamic facts and nothing else changed.

- **In place** (:func:`check_in_place`): the result is the input with a few byte ranges written
  over. The headers must read back identical, the dynamic array exactly as planned (so every
  other entry is untouched), the needed libraries, SONAME and search paths as asked, and every
  written range must lie in the dynamic string table, the dynamic array or a version-need file
  field. No symbol, version-need or version-definition name may read differently: each name
  whose bytes lie near a written range is read again from both files and compared, and the
  version tables are read again whole by the reader.
- **With a layout change** (:func:`check_rewrite`): the reader parses both files completely and
  every fact must match (symbols and their versions, imports, version needs with the renamed
  files, notes, interpreter, flags, stack, alignment); the segments must obey the gABI rules
  (sorted, congruent, inside the file, no page newly shared at 64 KiB, PT_PHDR and the table
  covered by a PT_LOAD), the section headers must agree with the dynamic entries, and every byte
  of every loaded segment of the input must read the same at its address in the result, except
  the ranges the edit rewrote.

A failed check raises :class:`ElfEditError` naming what differs (it means a bug, or an input
this editor does not understand: the edit is refused rather than used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from manywheel.elf.blobs import PAGE, Placement
from manywheel.elf.changes import DynamicFacts
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SegmentFlag as PF
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.dynamic import parse_dynamic
from manywheel.elf.layout import BufferImage
from manywheel.elf.model import ElfFile, VersionDefinition, VersionNeed
from manywheel.elf.reader import parse_elf
from manywheel.elf.strtab import References, StringTable, version_need_records
from manywheel.elf.structure import DynamicArray, ElfStructure, ProgramHeader, header_size
from manywheel.elf.symbols import ImportGroup
from manywheel.elf.version_sections import read_version_definitions, read_version_needs
from manywheel.errors import ElfEditError, InvalidElfError

__all__ = [
    "Expected",
    "check_in_place",
    "check_rewrite",
    "patched_slice",
    "renamed_imports",
    "renamed_needs",
]


_PT_DYNAMIC, _DT_STRTAB, _DT_STRSZ = int(PT.DYNAMIC), int(DT.STRTAB), int(DT.STRSZ)


@dataclass(frozen=True, slots=True)
class Expected:
    """What the edit meant to produce."""

    #: The dynamic array afterwards.
    entries: Sequence[tuple[int, int]]
    #: Bytes written over the input at their own offsets: (file offset, bytes), sorted.
    writes: tuple[tuple[int, bytes], ...]
    #: The entries the edit pointed at new strings: index in ``entries`` -> the string.
    new_strings: dict[int, bytes]
    #: Version-need files renamed: old -> new.
    renames: dict[str, str]
    #: Every dynamic fact afterwards (for a layout change, checked against the reader).
    facts: DynamicFacts | None = None


def _fail(name: str, what: str) -> ElfEditError:
    return ElfEditError(f"the edited file failed its check: {what}", path=name)


def _check_facts(name: str, got: DynamicFacts, want: DynamicFacts) -> None:
    for field in ("needed", "soname", "rpath", "runpath"):
        if getattr(got, field) != getattr(want, field):
            raise _fail(
                name, f"{field} reads {getattr(got, field)!r}, expected {getattr(want, field)!r}"
            )


def renamed_needs(needs: Sequence[VersionNeed], renames: dict[str, str]) -> tuple[VersionNeed, ...]:
    if not renames:
        return tuple(needs)
    return tuple(replace(n, file=renames.get(n.file, n.file)) for n in needs)


def _versions(
    elf: ElfStructure, table: StringTable
) -> tuple[tuple[VersionNeed, ...], tuple[VersionDefinition, ...]]:
    """The version needs and definitions, as the reader reads them."""
    assert elf.dynamic is not None
    image = BufferImage(elf.data, elf.name)

    def string_at(offset: int) -> str:
        return table.string_at(offset).decode("utf-8", "surrogateescape")

    needs: tuple[VersionNeed, ...] = ()
    start = elf.dynamic.first(DT.VERNEED)
    if start is not None:
        at = elf.offset_of(start, 1, "DT_VERNEED")
        count = elf.dynamic.first(DT.VERNEEDNUM) or 0
        needs = read_version_needs(image, elf.layout, at, count, string_at)
    definitions: tuple[VersionDefinition, ...] = ()
    start = elf.dynamic.first(DT.VERDEF)
    if start is not None:
        at = elf.offset_of(start, 1, "DT_VERDEF")
        count = elf.dynamic.first(DT.VERDEFNUM) or 0
        definitions = read_version_definitions(image, elf.layout, at, count, string_at)
    return needs, definitions


def _header_ranges(elf: ElfStructure) -> list[tuple[int, int]]:
    ranges = [(0, header_size(elf.layout))]
    ranges.append((elf.phoff, elf.phoff + len(elf.phdrs) * elf.phentsize))
    if elf.shoff:
        ranges.append((elf.shoff, elf.shoff + elf.ehdr[11] * elf.layout.shdr.size))
    return ranges


def patched_slice(data: bytes, patches: Sequence[tuple[int, bytes]], lo: int, hi: int) -> bytes:
    """Bytes [lo, hi) of ``data`` with ``patches`` written over it."""
    out = bytearray(data[lo:hi])
    for offset, raw in patches:
        a, b = max(offset, lo), min(offset + len(raw), hi)
        if a < b:
            out[a - lo : b - lo] = raw[a - offset : b - offset]
    return bytes(out)


def check_in_place(
    before: ElfStructure,
    old_table: StringTable,
    expected: Expected,
    live: Callable[[], References] | None,
) -> None:
    """Check an in-place edit of ``before``: ``expected.writes`` written over it (see the module).
    ``live`` gives every reference that must still read what it read (unchanged dynamic
    entries, symbol and version names); needed when string bytes were written."""
    name, data = before.name, before.data
    assert before.dynamic is not None
    segment = before.segment(_PT_DYNAMIC)
    assert segment is not None
    writes = expected.writes
    _check_confined(before, old_table, segment, writes)
    dynamic_lo, dynamic_hi = segment.offset, segment.file_end
    touched = False
    for offset, raw in writes:
        touched = touched or (offset < dynamic_hi and dynamic_lo < offset + len(raw))
    if touched:
        entries = parse_dynamic(before.layout, patched_slice(data, writes, dynamic_lo, dynamic_hi))
        array = DynamicArray(entries, 0)
    else:  # not a byte of the array changed: it reads as it did
        entries, array = before.dynamic.entries, before.dynamic
    planned = expected.entries
    if entries != (planned if isinstance(planned, list) else list(planned)):
        raise _fail(name, "its dynamic entries are not the ones planned")
    start, size = old_table.offset, old_table.size
    if (array.first(_DT_STRTAB), array.first(_DT_STRSZ)) != (old_table.vaddr, size):
        raise _fail(name, "its string table moved")
    for index, text in expected.new_strings.items():
        at = start + entries[index][1]
        if (
            entries[index][1] + len(text) >= size
            or patched_slice(data, writes, at, at + len(text) + 1) != text + b"\0"
        ):
            raise _fail(name, f"dynamic entry {index} does not read {text!r}")
    for offset, raw in writes:
        if live is None or not start <= offset < start + size:
            continue
        lo, hi = offset - start, offset - start + len(raw)
        readers = live().within(_run_start(data, writes, start, lo), hi)
        if readers:
            raise _fail(name, f"the string at 0x{readers[0]:x} was overwritten")
    if expected.renames:
        after = ElfStructure.parse(_patched(data, writes), name)
        table = StringTable.of(after)
        old_needs, old_defs = _versions(before, old_table)
        needs, defs = _versions(after, table)
        if needs != renamed_needs(old_needs, expected.renames) or defs != old_defs:
            raise _fail(name, "its symbol versions changed")


def _check_confined(
    elf: ElfStructure,
    table: StringTable,
    segment: ProgramHeader,
    writes: Sequence[tuple[int, bytes]],
) -> None:
    """The writes are sorted and disjoint, each inside the string table, the dynamic array or
    a version need's vn_file field, and none touches a header table."""
    allowed = [(table.offset, table.offset + table.size), (segment.offset, segment.file_end)]
    allowed += [(r.field_offset, r.field_offset + 4) for r in version_need_records(elf)[0]]
    headers = _header_ranges(elf)
    end = 0
    for offset, raw in writes:
        stop = offset + len(raw)
        inside = False
        for lo, hi in allowed:
            if lo <= offset and stop <= hi:
                inside = True
                break
        touches = False
        for lo, hi in headers:
            if lo < stop and offset < hi:
                touches = True
                break
        if offset < end or not inside or touches:
            raise _fail(elf.name, f"bytes at 0x{offset:x} outside the dynamic tables were written")
        end = stop


def _run_start(data: bytes, writes: Sequence[tuple[int, bytes]], base: int, at: int) -> int:
    """Where the string whose bytes run up to table offset ``at`` starts in the edited table
    (``base``: the table's file offset): the byte after the last NUL before ``at``."""
    stop = base + at
    while True:
        begin = data.rfind(b"\0", base, stop) + 1 or base
        run = patched_slice(data, writes, begin, stop)
        nul = run.rfind(b"\0")
        if nul >= 0:
            return begin + nul + 1 - base
        if begin == base or patched_slice(data, writes, begin - 1, begin) == b"\0":
            return begin - base
        stop = begin - 1


def _patched(data: bytes, patches: Sequence[tuple[int, bytes]]) -> bytes:
    out = bytearray(data)
    for offset, raw in patches:
        out[offset : offset + len(raw)] = raw
    return bytes(out)


def _overlaps(lo: int, hi: int, start: int, end: int) -> bool:
    return start < hi and lo < end


def renamed_imports(
    groups: tuple[ImportGroup, ...], renames: dict[str, str]
) -> tuple[ImportGroup, ...]:
    """``groups`` (imports by library and version) with the libraries renamed, as the reader
    groups them (two libraries renamed to one make one group)."""
    if not renames:  # (the reader's groups, as they are)
        return groups
    merged: dict[tuple[str | None, str | None], tuple[set[str], set[str]]] = {}
    for g in groups:
        key = (renames.get(g.library, g.library) if g.library else g.library, g.version)
        names, weak = merged.setdefault(key, (set(), set()))
        names.update(g.names)
        weak.update(g.weak_names)
    ordered = sorted(merged.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    return tuple(
        ImportGroup(lib, ver, tuple(sorted(names)), tuple(sorted(weak)))
        for (lib, ver), (names, weak) in ordered
    )


def _compare_facts(name: str, old: ElfFile, new: ElfFile, facts: DynamicFacts) -> None:
    _check_facts(
        name,
        DynamicFacts(new.needed, new.soname, new.rpath, new.runpath),
        facts,
    )
    same = (
        "header",
        "arch",
        "interpreter",
        "flags",
        "flags_1",
        "version_definitions",
        "build_id",
        "gnu_properties",
        "executable_stack",
        "load_alignment",
    )
    for field in same:
        if getattr(old, field) != getattr(new, field):
            raise _fail(name, f"{field} changed")
    if new.version_needs != renamed_needs(old.version_needs, facts.renamed_needs):
        raise _fail(name, "its version needs changed")
    a, b = old.symbols, new.symbols
    if (a.raw, a.versym, a.names) != (b.raw, b.versym, b.names):
        raise _fail(name, "its dynamic symbols changed")
    if new.imports != renamed_imports(old.imports, facts.renamed_needs):
        raise _fail(name, "its imported symbols changed")


def _pages(lo: int, hi: int) -> set[int]:
    return set(range(lo // PAGE, -(-hi // PAGE))) if hi > lo else set()


def _check_segments(name: str, before: ElfStructure, after: ElfStructure) -> None:
    loads = after.loads
    if [p.vaddr for p in loads] != sorted(p.vaddr for p in loads):
        raise _fail(name, "its PT_LOAD segments are not sorted by address")
    old = {(p.offset, p.vaddr): p for p in before.loads}
    for p in loads:
        if p.align > 1 and (p.vaddr - p.offset) % p.align:
            raise _fail(name, f"PT_LOAD at 0x{p.vaddr:x}: offset and address are not congruent")
        if p.file_end > len(after.data):
            raise _fail(name, f"PT_LOAD at 0x{p.vaddr:x} runs past the end of the file")
        was = old.get((p.offset, p.vaddr))
        gained = _pages(p.vaddr, p.mem_end) - (_pages(was.vaddr, was.mem_end) if was else set())
        for q in loads:
            if q is not p and gained & _pages(q.vaddr, q.mem_end):
                raise _fail(name, f"PT_LOAD at 0x{p.vaddr:x} shares a 64 KiB page with another")
            if q is not p and q.vaddr < p.mem_end and p.vaddr < q.mem_end:
                raise _fail(name, f"PT_LOAD at 0x{p.vaddr:x} overlaps another")
    for p in after.phdrs:
        if p.p_type in _MOVABLE and p.filesz and _load_of(after, p) is None:
            raise _fail(name, f"segment type 0x{p.p_type:x} at 0x{p.vaddr:x} is not loaded")
    table = (after.phoff, after.phoff + len(after.phdrs) * after.phentsize)
    phdr = after.segment(PT.PHDR)
    if phdr is not None and (phdr.offset, phdr.file_end) != table:
        raise _fail(name, "PT_PHDR does not describe the program header table")
    if before.load_of_offset(before.phoff) is not None and after.load_of_offset(table[0]) is None:
        raise _fail(name, "the program header table is not in a loaded segment any more")
    old_dyn, new_dyn = before.segment(PT.DYNAMIC), after.segment(PT.DYNAMIC)
    assert old_dyn is not None and new_dyn is not None
    holder = _load_of(after, new_dyn)
    if old_dyn.flags & PF.W and (holder is None or not holder.flags & PF.W):
        raise _fail(name, "the dynamic section is no longer in a writable segment")


_MOVABLE = frozenset({PT.DYNAMIC, PT.PHDR, PT.INTERP, PT.NOTE, PT.GNU_PROPERTY})


def _load_of(elf: ElfStructure, p: ProgramHeader) -> ProgramHeader | None:
    for load in elf.loads:
        inside = load.vaddr <= p.vaddr and p.vaddr + p.filesz <= load.vaddr + load.filesz
        if inside and load.offset + (p.vaddr - load.vaddr) == p.offset:
            return load
    return None


def _check_sections(name: str, before: ElfStructure, after: ElfStructure) -> None:
    """Sections that moved are inside the file and where their segment maps them; .dynstr and
    .dynamic describe what the dynamic entries and PT_DYNAMIC say."""
    assert after.dynamic is not None
    size = len(after.data)
    for a, s in zip(before.shdrs, after.shdrs, strict=False):
        if (a.offset, a.addr, a.size) == (s.offset, s.addr, s.size) or not s.in_file:
            continue
        if s.end > size:
            raise _fail(name, f"section {s.name} runs past the end of the file")
        load = after.load_of(s.addr, s.size) if s.allocated else None
        if s.allocated and (load is None or load.offset + (s.addr - load.vaddr) != s.offset):
            raise _fail(name, f"section {s.name} is not where its segment maps it")
    strtab = after.dynamic.first(DT.STRTAB)
    dynstr = after.section(".dynstr")
    if dynstr is not None and (dynstr.addr, dynstr.size) != (strtab, after.dynamic.first(DT.STRSZ)):
        raise _fail(name, ".dynstr does not describe the dynamic string table")
    dynamic = after.section(".dynamic")
    segment = after.segment(PT.DYNAMIC)
    assert segment is not None
    if dynamic is not None and (dynamic.offset, dynamic.addr, dynamic.size) != (
        segment.offset,
        segment.vaddr,
        segment.filesz,
    ):
        raise _fail(name, ".dynamic does not describe PT_DYNAMIC")


def _check_memory(
    name: str,
    before: ElfStructure,
    data: bytes,
    holes: list[tuple[int, int]],
) -> None:
    """Every byte of each loaded segment of the input reads the same at the same offset of the
    result (the segments keep their offsets), except in ``holes`` (file offsets)."""
    old, new = memoryview(before.data), memoryview(data)
    spans = sorted(holes)
    for load in before.loads:
        at, end = load.offset, load.file_end
        for lo, hi in spans:
            if hi <= at or lo >= end:
                continue
            if old[at : max(at, lo)] != new[at : max(at, lo)]:
                raise _fail(name, f"bytes at 0x{at:x}..0x{lo:x} changed")
            at = max(at, hi)
        if at < end and old[at:end] != new[at:end]:
            raise _fail(name, f"bytes at 0x{at:x}..0x{end:x} changed")


def _check_section_contents(
    name: str, before: ElfStructure, after: ElfStructure, holes: list[tuple[int, int]]
) -> None:
    """Every section with bytes reads the same wherever it went (moved with a block, or up with
    the file's unallocated tail), but for the tables the edit rewrote."""
    if len(after.shdrs) != len(before.shdrs):
        raise _fail(name, "its number of sections changed")
    old, new = memoryview(before.data), memoryview(after.data)
    for a, b in zip(before.shdrs, after.shdrs, strict=True):
        if (a.name_offset, a.sh_type, a.flags) != (b.name_offset, b.sh_type, b.flags):
            raise _fail(name, f"section {a.name} changed")
        if not a.in_file or a.name in (".dynstr", ".dynamic"):
            continue
        if a.size != b.size:
            raise _fail(name, f"section {a.name} changed size")
        at = 0
        for start, end in sorted(holes):
            lo, hi = max(start - a.offset, 0), min(end - a.offset, a.size)
            if lo >= hi:
                continue
            if old[a.offset + at : a.offset + lo] != new[b.offset + at : b.offset + lo]:
                raise _fail(name, f"section {a.name} changed")
            at = max(at, hi)
        if old[a.offset + at : a.end] != new[b.offset + at : b.end]:
            raise _fail(name, f"section {a.name} changed")


def check_rewrite(
    before: ElfStructure, data: bytes, expected: Expected, placement: Placement
) -> ElfFile:
    """Check an edit that changed the layout; returns the result's facts."""
    name = before.name
    try:
        old = parse_elf(before.data, name=name)
        new = parse_elf(data, name=name)
        after = ElfStructure.parse(data, name)
    except InvalidElfError as e:
        raise _fail(name, f"it does not read back: {e.message}") from e
    assert after.dynamic is not None and before.dynamic is not None
    if after.dynamic.entries != list(expected.entries):
        raise _fail(name, "its dynamic entries are not the ones planned")
    assert expected.facts is not None
    _compare_facts(name, old, new, expected.facts)
    _check_segments(name, before, after)
    _check_sections(name, before, after)
    segment = before.segment(PT.DYNAMIC)
    assert segment is not None
    holes = [(o, o + len(raw)) for o, raw in expected.writes]
    holes.append((segment.offset, segment.file_end))
    written = [*holes, *placement.rewritten_file]
    holes.append((0, header_size(before.layout)))  # e_phoff, e_phnum, e_shoff may change
    holes.append((before.phoff, before.phoff + len(before.phdrs) * before.phentsize))
    for lo, hi in placement.rewritten:
        load = before.load_of(lo, hi - lo)
        if load is None:
            raise _fail(name, f"rewrote 0x{lo:x}..0x{hi:x}, which no segment maps")
        holes.append((load.offset + lo - load.vaddr, load.offset + hi - load.vaddr))
    _check_memory(name, before, data, holes)
    _check_section_contents(name, before, after, written)
    return new
