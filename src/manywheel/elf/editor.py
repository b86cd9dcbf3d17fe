"""Edit an ELF file's dynamic section: set or remove DT_RPATH/DT_RUNPATH, replace or remove
DT_NEEDED entries (and the version needs that name them), set DT_SONAME — for ELF32 and ELF64,
either byte order, every architecture a policy names.

:func:`edit_elf` takes the file's bytes and returns the edited bytes, checked:

- **In place** when the new strings fit in the bytes of the strings they replace (no other
  reference reads them any more: linkers share string tails) or already exist, and the new
  entries fit in the dynamic array (linkers leave spare DT_NULL slots): no offset, address or size
  changes, and what the replaced strings leave unused is zeroed. Cleaning a search path always
  fits.
- Otherwise the grown string table and/or dynamic array move to new space, as
  :mod:`manywheel.elf.placement` describes; the old copies stay where they are, unused.

Every result is read again before it is returned (:mod:`manywheel.elf.verification`): the reader
must give the intended dynamic facts, and nothing else may have changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import cast

from manywheel.elf.blobs import Blob, EditMethod
from manywheel.elf.changes import (
    DynamicFacts,
    DynamicPlan,
    ElfChanges,
    NewString,
    facts_of,
    plan,
)
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import ElfType, Machine
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.dynamic import gnu_hash_count, parse_dynamic
from manywheel.elf.layout import BufferImage
from manywheel.elf.model import ElfFile
from manywheel.elf.placement import place
from manywheel.elf.search_path import search_path_over_itself
from manywheel.elf.strtab import (
    NeedRecord,
    References,
    StringTable,
    dead_ranges,
    string_values,
    version_need_records,
)
from manywheel.elf.structure import DynamicArray, ElfStructure
from manywheel.elf.verification import (
    Expected,
    check_in_place,
    check_rewrite,
    patched_slice,
    renamed_imports,
    renamed_needs,
)
from manywheel.errors import ElfEditError

__all__ = ["EDITABLE_MACHINES", "ElfEdit", "apply_patches", "dynamic_facts", "edit_elf"]

#: The machines of the architectures the policies name (x86_64, i686, aarch64, armv7l, ppc64le,
#: ppc64, s390x, riscv64, loongarch64). Others (MIPS's dynamic section has rules of its own) are
#: refused.
EDITABLE_MACHINES = frozenset(
    {Machine.X86_64, Machine.I386, Machine.AARCH64, Machine.ARM, Machine.PPC64}
    | {Machine.S390, Machine.RISCV, Machine.LOONGARCH}
)
_EDITABLE_TYPES = frozenset({int(ElfType.DYN), int(ElfType.EXEC)})
#: Empty slots a moved dynamic array gets beyond what the edit needs (GNU ld leaves 4-5).
SPARE_SLOTS = 4


@dataclass(frozen=True, slots=True)
class ElfEdit:
    """An edited file: how the edit was laid out, the dynamic facts it has, and its bytes."""

    #: The input file, for an in-place edit or no edit; the result, when the layout changed.
    source: bytes
    method: EditMethod
    #: DT_NEEDED names replaced (and version-need files renamed): old -> new.
    renames: dict[str, str]
    #: For an in-place edit, the bytes written over the input: (offset, bytes), sorted and
    #: disjoint. The input with these written over it is :attr:`data`.
    patches: tuple[tuple[int, bytes], ...] = ()
    #: When the layout changed: every fact of the result, as the check read it.
    elf: ElfFile | None = None
    _data: list[bytes] = field(default_factory=list, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return self.method is not EditMethod.UNCHANGED

    @property
    def data(self) -> bytes:
        """The edited file (built from :attr:`source` and :attr:`patches` on first use)."""
        if not self.patches:
            return self.source
        if not self._data:
            self._data.append(apply_patches(self.source, self.patches))
        return self._data[0]

    @property
    def facts(self) -> DynamicFacts:
        """The dynamic facts of the result (read from it; for an in-place edit, from the input's
        dynamic array and string table with the patches written over them, without building the
        whole result)."""
        if self.method is not EditMethod.IN_PLACE:
            return dynamic_facts(self.data, self.renames)
        elf = ElfStructure.parse(self.source, "<bytes>")
        segment = elf.segment(PT.DYNAMIC)
        assert segment is not None
        table = StringTable.of(elf)
        array = patched_slice(self.source, self.patches, segment.offset, segment.file_end)
        end = table.offset + table.size
        strings = patched_slice(self.source, self.patches, table.offset, end)
        entries = parse_dynamic(elf.layout, array)
        string_at = StringTable.of_bytes(strings, table.offset, table.vaddr).string_at
        return facts_of(entries, string_at, self.renames)

    def facts_after(self, before: ElfFile) -> ElfFile:
        """Every fact of the result, given ``before``, the facts of the input: what the check
        read when the layout changed; else ``before`` with the dynamic facts the result has
        (the in-place check proved nothing else changed: the version needs and the imports
        name the renamed libraries)."""
        if self.elf is not None:
            return self.elf
        if not self.changed:
            return before
        facts, renames = self.facts, self.renames
        return replace(
            before,
            needed=facts.needed,
            soname=facts.soname,
            rpath=facts.rpath,
            runpath=facts.runpath,
            version_needs=renamed_needs(before.version_needs, renames),
            imports=renamed_imports(before.imports, renames),
        )


@dataclass(slots=True)
class _Strings:
    """Where the new strings are: table offsets, and either in-place writes or a grown table."""

    offsets: dict[bytes, int]
    writes: list[tuple[int, bytes]]
    grown: bytes | None = None


def _check_editable(elf: ElfStructure) -> None:
    what = None
    if elf.e_type not in _EDITABLE_TYPES:
        what = "it is not a shared library or an executable"
    elif elf.e_machine not in EDITABLE_MACHINES:
        what = f"e_machine {elf.e_machine} is not an architecture any policy names"
    elif elf.dynamic is None:
        what = "it has no dynamic section (a static executable?)"
    if what is not None:
        raise ElfEditError(f"cannot edit: {what}", path=elf.name)


def _live(
    elf: ElfStructure, dplan: DynamicPlan, records: list[NeedRecord], aux: list[int]
) -> References:
    """String offsets still referenced after the edit (new strings excluded)."""
    renamed = {id(r) for r, _ in dplan.needs}
    offsets = string_values(dplan.entries)  # (new strings have no offset yet: left out)
    offsets += [r.file for r in records if id(r) not in renamed]
    return References.of(elf, [*offsets, *aux])


def _strings_in_place(
    table: StringTable, dplan: DynamicPlan, live: Callable[[], References]
) -> _Strings | None:
    """The new strings in the bytes the replaced strings leave unused, or where they already
    are; ``None`` if they do not all fit."""
    spans = []
    room_needed = 0
    for start in dplan.retired:
        end = table.nul_at_or_after(start)
        if 0 <= start < table.size and end >= 0:
            spans.append((start, end + 1))
            room_needed -= end + 1 - start
    wanted = dplan.new_strings
    for text in wanted:
        room_needed += len(text) + 1
    offsets: dict[bytes, int] = {}
    if room_needed > 0:  # they cannot all be written: all must be found where they are
        for text in wanted:
            at = table.find(text, avoid=spans)
            if at is None:
                return None
            offsets[text] = at
        wanted = []
    free = dead_ranges(table, dplan.retired, live()) if spans else []
    buffers = [(s, bytearray(e - s)) for s, e in free]
    room = list(free)
    for text in sorted(wanted, key=len, reverse=True):
        need = len(text) + 1
        k = 0
        while k < len(room) and room[k][1] - room[k][0] < need:
            k += 1
        if k == len(room):
            at = table.find(text, avoid=free)
            if at is None:
                return None
            offsets[text] = at
            continue
        start, end = room[k]
        room[k] = (start + need, end)
        offsets[text] = start
        base, buffer = buffers[k]
        buffer[start - base : start - base + need] = text + b"\0"
    return _Strings(offsets, [(s, bytes(b)) for s, b in buffers])


def _strings_grown(table: StringTable, dplan: DynamicPlan) -> _Strings:
    tail = bytearray()
    offsets = {}
    for text in dplan.new_strings:
        at = table.find(text)
        if at is None:
            at = table.size + len(tail)
            tail += text + b"\0"
        offsets[text] = at
    return _Strings(offsets, [], table.data + bytes(tail))


def _resolve(dplan: DynamicPlan, strings: _Strings) -> list[tuple[int, int]]:
    entries = cast("list[tuple[int, int]]", list(dplan.entries))
    for i, value in dplan.new_at.items():
        entries[i] = (entries[i][0], strings.offsets[value.text])
    return entries


def _need_patches(
    elf: ElfStructure, dplan: DynamicPlan, strings: _Strings
) -> list[tuple[int, bytes]]:
    word = elf.layout.word
    return [
        (
            record.field_offset,
            word.pack(strings.offsets[new.text] if isinstance(new, NewString) else new),
        )
        for record, new in dplan.needs
    ]


def apply_patches(data: bytes, patches: Sequence[tuple[int, bytes]]) -> bytes:
    """``data`` with ``patches`` (sorted, disjoint) written over it, in one copy."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    at = 0
    for offset, raw in patches:
        parts += [view[at:offset], raw]
        at = offset + len(raw)
    parts.append(view[at:])
    return b"".join(parts)


def _in_place(  # noqa: PLR0917 - the parts of one plan
    elf: ElfStructure,
    table: StringTable,
    dplan: DynamicPlan,
    strings: _Strings,
    entries: list[tuple[int, int]],
    live: Callable[[], References],
) -> ElfEdit:
    assert elf.dynamic is not None
    patches = [(table.offset + s, raw) for s, raw in strings.writes]
    patches += _need_patches(elf, dplan, strings)
    if entries != elf.dynamic.entries:  # (else the array's bytes are left as they are)
        segment = elf.segment(PT.DYNAMIC)
        assert segment is not None
        packed = DynamicArray(entries, elf.dynamic.capacity).pack(elf.layout)
        if packed != elf.data[segment.offset : segment.offset + len(packed)]:
            patches.append((segment.offset, packed))
    patches.sort()
    expected = Expected(entries, tuple(patches), _new_strings(dplan), dplan.renames)
    check_in_place(elf, table, expected, live if strings.writes else None)
    return ElfEdit(elf.data, EditMethod.IN_PLACE, dplan.renames, tuple(patches))


def _new_strings(dplan: DynamicPlan) -> dict[int, bytes]:
    return {i: v.text for i, v in dplan.new_at.items()}


def _section_at(elf: ElfStructure, vaddr: int, sh_type: int) -> int | None:
    for i, s in enumerate(elf.shdrs):
        if i and s.sh_type == sh_type and s.addr == vaddr and s.allocated:
            return i
    return None


def _rewrite(
    elf: ElfStructure,
    table: StringTable,
    dplan: DynamicPlan,
    strings: _Strings,
    entries: list[tuple[int, int]],
) -> ElfEdit:
    """The edit with a layout change: the string table and/or the dynamic array move."""
    assert elf.dynamic is not None
    before = ElfStructure.parse(elf.data, elf.name)  # the untouched headers, for the check
    layout = elf.layout
    out = bytearray(elf.data)
    touched = [(table.offset + s, raw) for s, raw in strings.writes]
    touched += _need_patches(elf, dplan, strings)
    for offset, raw in touched:
        out[offset : offset + len(raw)] = raw
    segment = elf.segment(PT.DYNAMIC)
    assert segment is not None
    strtab_section = _section_at(elf, table.vaddr, SHT.STRTAB)
    dynamic_section = _section_at(elf, segment.vaddr, SHT.DYNAMIC)
    elf.dynamic.entries = entries
    blobs = []
    move_dynamic = len(entries) + 1 > elf.dynamic.capacity
    capacity = len(entries) + 1 + SPARE_SLOTS if move_dynamic else elf.dynamic.capacity
    if move_dynamic:
        blobs.append(Blob("dynamic", capacity * layout.dyn.size, layout.word_size))
    if strings.grown is not None:
        blobs.append(Blob("dynstr", len(strings.grown)))
    if strings.grown is not None:
        _check_count_survives(elf)
    placement = place(elf, out, blobs, writable=move_dynamic)
    if strings.grown is not None:
        offset, vaddr = placement.where["dynstr"]
        out[offset : offset + len(strings.grown)] = strings.grown
        elf.dynamic.entries = [
            (t, vaddr if t == DT.STRTAB else len(strings.grown) if t == DT.STRSZ else v)
            for t, v in elf.dynamic.entries
        ]
        if strtab_section is not None:
            section = elf.shdrs[strtab_section]
            section.offset, section.addr, section.size = offset, vaddr, len(strings.grown)
    if move_dynamic:
        offset, vaddr = placement.where["dynamic"]
        segment.move(offset, vaddr)
        segment.filesz = segment.memsz = capacity * layout.dyn.size
        elf.dynamic.capacity = capacity
        if dynamic_section is not None:
            section = elf.shdrs[dynamic_section]
            section.offset, section.addr, section.size = offset, vaddr, segment.filesz
    packed = elf.dynamic.pack(layout)
    out[segment.offset : segment.offset + len(packed)] = packed
    _write_headers(elf, out)
    data = bytes(out)
    table_bytes = strings.grown if strings.grown is not None else _patched_table(table, strings)
    facts = facts_of(entries, StringTable.of_bytes(table_bytes).string_at, dplan.renames)
    new_strings = _new_strings(dplan)
    expected = Expected(elf.dynamic.entries, tuple(touched), new_strings, dplan.renames, facts)
    result = check_rewrite(before, data, expected, placement)
    return ElfEdit(data, placement.method, dplan.renames, (), result)


def _patched_table(table: StringTable, strings: _Strings) -> bytes:
    out = bytearray(table.data)
    for offset, raw in strings.writes:
        out[offset : offset + len(raw)] = raw
    return bytes(out)


def _check_count_survives(elf: ElfStructure) -> None:
    """Refuse to move the string table of a file whose dynamic symbol count is known only from
    where that table starts: no section headers, no DT_HASH, and a DT_GNU_HASH that hashes no
    symbol (readers then count the symbols up to the next table: the count would change)."""
    assert elf.dynamic is not None
    if elf.shdrs or elf.dynamic.first(DT.HASH) is not None:
        return
    symtab, gnu = elf.dynamic.first(DT.SYMTAB), elf.dynamic.first(DT.GNU_HASH)
    strtab = elf.dynamic.first(DT.STRTAB)
    if symtab is None or strtab is None or strtab < symtab:
        return
    if gnu is not None:
        image = BufferImage(elf.data, elf.name)
        offset = elf.offset_of(gnu, 16, "DT_GNU_HASH")
        limit = (len(elf.data) - elf.offset_of(symtab, 1, "DT_SYMTAB")) // elf.layout.sym.size
        if gnu_hash_count(image, elf.layout, offset, limit)[1]:
            return
    tables = (DT.GNU_HASH, DT.VERSYM, DT.VERNEED, DT.VERDEF)
    later = [v for t in tables if (v := elf.dynamic.first(t)) is not None and v > symtab]
    if later and min(later) < strtab:
        return
    raise ElfEditError(
        "cannot move the dynamic string table: the file has no section headers and no hashed "
        "symbol, so how many dynamic symbols it has is only known from where that table starts",
        path=elf.name,
    )


def _write_headers(elf: ElfStructure, out: bytearray) -> None:
    start = 16  # after e_ident
    out[start : start + elf.layout.ehdr.size] = elf.pack_ehdr()
    table = elf.pack_phdrs()
    out[elf.phoff : elf.phoff + len(table)] = table
    if elf.shdrs:
        sections = elf.pack_shdrs()
        out[elf.shoff : elf.shoff + len(sections)] = sections


def dynamic_facts(data: bytes, renames: dict[str, str] | None = None) -> DynamicFacts:
    """The needed libraries, SONAME and search paths of the ELF file ``data`` (only what they
    need is read)."""
    elf = ElfStructure.parse(data, "<bytes>")
    if elf.dynamic is None:
        return DynamicFacts((), None, (), (), dict(renames or {}))
    return facts_of(elf.dynamic.entries, StringTable.of(elf).string_at, dict(renames or {}))


def edit_elf(data: bytes, changes: ElfChanges, *, name: str = "<bytes>") -> ElfEdit:
    """Apply ``changes`` to the ELF file ``data`` and check the result.

    Raises :class:`InvalidElfError` for a file that is not valid ELF, and
    :class:`ElfEditError` for one that cannot be edited safely (no dynamic section, an
    architecture no policy names, no room that can be made)."""
    elf = ElfStructure.parse(data, name)
    _check_editable(elf)
    assert elf.dynamic is not None
    table = StringTable.of(elf)
    records, aux = version_need_records(elf)
    written = search_path_over_itself(elf, table, records, aux, changes)
    if written is not None:  # (the commonest edit, made the short way)
        return ElfEdit(elf.data, EditMethod.IN_PLACE, {}, written)
    return _edit(elf, table, records, aux, changes)


def _edit(
    elf: ElfStructure,
    table: StringTable,
    records: list[NeedRecord],
    aux: list[int],
    changes: ElfChanges,
) -> ElfEdit:
    """Any edit: planned, its strings placed, laid out in place or in new space, checked."""
    assert elf.dynamic is not None
    dplan = plan(elf, table, records, changes)
    if not dplan.changed:
        return ElfEdit(elf.data, EditMethod.UNCHANGED, {})
    cache: list[References] = []

    def live() -> References:
        if not cache:
            cache.append(_live(elf, dplan, records, aux))
        return cache[0]

    strings = _strings_in_place(table, dplan, live)
    if strings is None:
        strings = _strings_grown(table, dplan)
    entries = _resolve(dplan, strings)
    if strings.grown is None and len(entries) < elf.dynamic.capacity:
        return _in_place(elf, table, dplan, strings, entries, live)
    return _rewrite(elf, table, dplan, strings, entries)
