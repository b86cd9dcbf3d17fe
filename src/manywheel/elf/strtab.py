"""The dynamic string table as an edit sees it: which offsets are referenced (dynamic entries,
dynamic symbol names, version needs and definitions), which bytes an edit may rewrite once the
strings it replaces are no longer referenced, and where new strings go.

Linkers merge strings by suffix (``libfoo.so`` may be the tail of ``xlibfoo.so``), so a string's
bytes are free only when no reference lands anywhere inside the run of bytes it covers; that is
what :func:`dead_ranges` works out. Nothing here writes to the file.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from manywheel.elf.constants import DT_LOOS
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.dynamic import gnu_hash_count, sysv_hash_count
from manywheel.elf.layout import BufferImage
from manywheel.elf.structure import ElfStructure
from manywheel.errors import InvalidElfError

__all__ = [
    "STRING_TAGS",
    "NeedRecord",
    "References",
    "StringTable",
    "dead_ranges",
    "is_string_tag",
    "string_values",
    "symbol_table_span",
    "version_need_records",
]

#: Tags whose value is an offset into the dynamic string table.
STRING_TAGS = frozenset(
    {DT.NEEDED, DT.SONAME, DT.RPATH, DT.RUNPATH, DT.AUXILIARY, DT.FILTER, DT.CONFIG}
    | {DT.DEPAUDIT, DT.AUDIT}
)
#: The gABI's tags below DT_LOOS: none of them but DT_NEEDED ... DT_RUNPATH holds a string.
_GENERIC_LIMIT = DT_LOOS
#: OS- and processor-specific tags known not to hold strings (GNU and psABI tags).
_NOT_STRINGS = frozenset(
    {DT.GNU_HASH, DT.VERSYM, DT.VERDEF, DT.VERDEFNUM, DT.VERNEED, DT.VERNEEDNUM, DT.FLAGS_1}
    | {DT.RELACOUNT, DT.RELCOUNT, DT.TLSDESC_PLT, DT.TLSDESC_GOT, DT.GNU_CONFLICT}
    | {DT.GNU_LIBLIST, DT.GNU_PRELINKED, DT.GNU_CONFLICTSZ, DT.GNU_LIBLISTSZ, DT.CHECKSUM}
    | {DT.PLTPADSZ, DT.MOVEENT, DT.MOVESZ, DT.FEATURE_1, DT.POSFLAG_1, DT.SYMINSZ}
    | {DT.SYMINENT, DT.PLTPAD, DT.MOVETAB, DT.SYMINFO}
)


def is_string_tag(tag: int) -> bool:
    """Whether a dynamic entry with ``tag`` may reference the string table: the string tags,
    and (to be safe) every OS/processor-specific tag not known to hold something else."""
    return tag in STRING_TAGS or (tag >= _GENERIC_LIMIT and tag not in _NOT_STRINGS)


def string_values(entries: Iterable[tuple[int, object]]) -> list[int]:
    """The values of the entries that may reference the string table (see
    :func:`is_string_tag`), skipping values that are not offsets yet."""
    strings, limit, others = STRING_TAGS, _GENERIC_LIMIT, _NOT_STRINGS
    return [
        v
        for t, v in entries
        if (t in strings or (t >= limit and t not in others)) and isinstance(v, int)
    ]


class StringTable:
    """The dynamic string table: bytes [start, start + size) of ``buffer`` (the whole file, or
    the table's own bytes), and where the table is in the file (``offset``, ``vaddr``)."""

    __slots__ = ("_data", "_end", "buffer", "offset", "size", "start", "vaddr")

    def __init__(self, buffer: bytes, start: int, size: int, offset: int, vaddr: int) -> None:
        self.buffer, self.start, self.size = buffer, start, size
        self.offset, self.vaddr = offset, vaddr
        self._end = start + size
        self._data: bytes | None = None

    @classmethod
    def of(cls, elf: ElfStructure) -> StringTable:
        assert elf.dynamic is not None
        vaddr, size = elf.dynamic.first(DT.STRTAB), elf.dynamic.first(DT.STRSZ)
        if vaddr is None or size is None:
            raise InvalidElfError("the dynamic section has no DT_STRTAB/DT_STRSZ", path=elf.name)
        offset = elf.offset_of(vaddr, size, "DT_STRTAB")
        return cls(elf.data, offset, size, offset, vaddr)

    @classmethod
    def of_bytes(cls, data: bytes, offset: int = 0, vaddr: int = 0) -> StringTable:
        """The table whose bytes are ``data`` (at ``offset`` in the file)."""
        return cls(data, 0, len(data), offset, vaddr)

    @property
    def data(self) -> bytes:
        """The table's bytes."""
        if self._data is None:
            self._data = self.buffer[self.start : self._end]
        return self._data

    def nul_at_or_after(self, at: int) -> int:
        """The table offset of the first NUL at or after ``at`` (-1: none)."""
        end = self.buffer.find(b"\0", self.start + at, self._end)
        return end if end < 0 else end - self.start

    def run_start(self, at: int) -> int:
        """Where the run of non-NUL bytes holding table offset ``at`` starts."""
        nul = self.buffer.rfind(b"\0", self.start, self.start + at)
        return 0 if nul < 0 else nul + 1 - self.start

    def string_at(self, offset: int) -> bytes:
        end = self.buffer.find(b"\0", self.start + offset, self._end)
        if not 0 <= offset < self.size or end < 0:
            raise InvalidElfError(
                f"string offset 0x{offset:x} is outside the dynamic string table "
                f"(0x{self.size:x} bytes)"
            )
        return self.buffer[self.start + offset : end]

    def find(self, text: bytes, avoid: Sequence[tuple[int, int]] = ()) -> int | None:
        """An offset at which ``text`` is a whole NUL-terminated string (possibly the tail of a
        longer one) whose bytes do not touch any of the ``avoid`` ranges."""
        needle, base, end = text + b"\0", self.start, self._end
        at = self.buffer.find(needle, base, end)
        while at >= 0:
            at -= base
            stop = at + len(needle)
            if not any(s < stop and at < e for s, e in avoid):
                return at
            at = self.buffer.find(needle, base + at + 1, end)
        return None


def symbol_table_span(elf: ElfStructure) -> tuple[int, int] | None:
    """(file offset, count) of the dynamic symbol table: the count from .dynsym when the file
    has section headers, else DT_HASH, else DT_GNU_HASH (as the reader counts)."""
    assert elf.dynamic is not None
    symtab = elf.dynamic.first(DT.SYMTAB)
    if symtab is None:
        return None
    size = elf.layout.sym.size
    section = elf.section_size(SHT.DYNSYM, symtab)
    if section is not None and section[1] == size:
        count = section[0] // size
    else:
        count = _hash_count(elf, elf.offset_of(symtab, size, "DT_SYMTAB"))
    return elf.offset_of(symtab, count * size, "DT_SYMTAB"), count


def _hash_count(elf: ElfStructure, symtab_at: int) -> int:
    """How many dynamic symbols there may be, from the hash tables; when nothing is hashed, as
    many as fit before the next table (an upper bound: what an edit must not overwrite)."""
    assert elf.dynamic is not None
    image = BufferImage(elf.data, elf.name)
    hash_at = elf.dynamic.first(DT.HASH)
    if hash_at is not None:
        return sysv_hash_count(image, elf.layout, elf.offset_of(hash_at, 8, "DT_HASH"))
    gnu_at = elf.dynamic.first(DT.GNU_HASH)
    symtab = elf.dynamic.first(DT.SYMTAB)
    if gnu_at is not None and symtab is not None:
        max_count = (len(elf.data) - symtab_at) // elf.layout.sym.size
        offset = elf.offset_of(gnu_at, 16, "DT_GNU_HASH")
        count, complete = gnu_hash_count(image, elf.layout, offset, max_count)
        if complete:
            return count
        later = [v for t, v in elf.dynamic.entries if t in _TABLE_TAGS and v > symtab]
        if later:
            return min(max(count, (min(later) - symtab) // elf.layout.sym.size), max_count)
    raise InvalidElfError(
        "cannot tell how many dynamic symbols there are (no .dynsym section, DT_HASH or "
        "DT_GNU_HASH chain), so the strings they use are unknown",
        path=elf.name,
    )


_TABLE_TAGS = frozenset({DT.HASH, DT.GNU_HASH, DT.STRTAB, DT.VERSYM, DT.VERNEED, DT.VERDEF})


class NeedRecord(NamedTuple):
    """One Elfxx_Verneed: where its vn_file field is in the file, and its value."""

    field_offset: int
    file: int


def version_need_records(elf: ElfStructure) -> tuple[list[NeedRecord], list[int]]:
    """The version-need records, and the other string offsets the version tables reference
    (vna_name, vda_name), walked as glibc walks them (bounded by the declared counts)."""
    memo = elf.memo.get("versions")
    if memo is None:
        memo = elf.memo["versions"] = _version_need_records(elf)
    return memo  # type: ignore[return-value]


_PAIRS = {"<": struct.Struct("<II"), ">": struct.Struct(">II")}
_VERNEED, _VERNEEDNUM = int(DT.VERNEED), int(DT.VERNEEDNUM)
_VERDEF, _VERDEFNUM = int(DT.VERDEF), int(DT.VERDEFNUM)


def _version_need_records(elf: ElfStructure) -> tuple[list[NeedRecord], list[int]]:
    assert elf.dynamic is not None
    layout, first = elf.layout, elf.dynamic.first
    records: list[NeedRecord] = []
    names: list[int] = []
    start, count = first(_VERNEED), first(_VERNEEDNUM) or 0
    if start is not None and count:
        first_need = elf.offset_of(start, layout.verneed.size, "DT_VERNEED")
        for vn_file, at in _walk(elf, layout.verneed, first_need, count, 8, names):
            records.append(NeedRecord(at + 4, vn_file))
    start, count = first(_VERDEF), first(_VERDEFNUM) or 0
    if start is not None and count:
        at = elf.offset_of(start, layout.verdef.size, "DT_VERDEF")
        _walk(elf, layout.verdef, at, count, 0, names)
    return records, names


def _walk(  # noqa: PLR0917 - a hot loop's parts
    elf: ElfStructure, entry: struct.Struct, at: int, count: int, field: int, names: list[int]
) -> list[tuple[int, int]]:
    """Walk ``count`` version needs (``field`` 8: where vna_name/vna_next are in a vernaux) or
    definitions (0: vda_name/vda_next in a verdaux), appending the name of each auxiliary entry
    to ``names``; returns (vn_file, offset) of each entry (vn_file: meaningless for a
    definition)."""
    data, limit = elf.data, len(elf.data)
    unpack, pair, append = entry.unpack_from, _PAIRS[elf.layout.endian].unpack_from, names.append
    need = field == 8
    walked = []
    for _ in range(count):
        if not 0 <= at <= limit - entry.size:
            what = "version need" if need else "version definition"
            raise InvalidElfError(f"{what} runs past the end of the file", path=elf.name, offset=at)
        fields = unpack(data, at)
        if need:
            _ver, cnt, vn_file, aux, nxt = fields
        else:
            _ver, _flags, _ndx, cnt, _hash, aux, nxt = fields
            vn_file = 0
        walked.append((vn_file, at))
        aux_at = at + aux + field
        for _ in range(cnt):
            if not field <= aux_at <= limit - 8:
                raise InvalidElfError("version entry runs past the end of the file", path=elf.name)
            name, step = pair(data, aux_at)
            append(name)
            if step == 0:
                break
            aux_at += step
        if nxt == 0:
            break
        at += nxt
    return walked


class References:
    """String-table offsets that something reads: the dynamic symbols' st_name fields, searched
    where they lie in the symbol table (no list of thousands of offsets is built), and a few
    more given explicitly.

    :meth:`within` finds the names in a range 256 offsets at a time, by the byte of st_name
    that holds its bits 8-15 (one strided slice of the table, searched one byte at a time:
    ``memchr``), then reads each st_name found: an edit asks about the few bytes of one
    string."""

    __slots__ = ("_big", "_data", "_extra", "_found", "_mids", "_start", "_stop", "_stride")

    def __init__(  # noqa: PLR0917 - where a symbol table is
        self,
        data: bytes,
        start: int,
        count: int,
        stride: int,
        big_endian: bool,
        extra: Iterable[int] = (),
    ) -> None:
        self._data, self._start, self._stride = data, start, stride
        self._stop = start + count * stride
        self._big = big_endian
        self._extra = sorted(set(extra))
        self._found: dict[tuple[int, int], list[int]] = {}
        self._mids: bytes | None = None

    @classmethod
    def of(cls, elf: ElfStructure, extra: Iterable[int]) -> References:
        """The dynamic symbols' names of ``elf`` and ``extra``."""
        start, count = symbol_table_span(elf) or (0, 0)
        size, big = elf.layout.sym.size, elf.layout.endian == ">"
        return cls(elf.data, start, count, size, big, extra)

    def within(self, lo: int, hi: int) -> list[int]:
        """The referenced offsets in [lo, hi), sorted (with repeats for repeated names)."""
        key = (lo, hi)
        if key not in self._found:  # (an edit and its check ask about the same bytes)
            self._found[key] = self._within(lo, hi)
        return list(self._found[key])

    def _within(self, lo: int, hi: int) -> list[int]:
        found = self._extra[bisect_left(self._extra, lo) : bisect_left(self._extra, hi)]
        data, start, stride = self._data, self._start, self._stride
        order: Literal["big", "little"] = "big" if self._big else "little"
        if self._mids is None:  # st_name leads each symbol in both classes
            self._mids = data[start + (2 if self._big else 1) : self._stop : stride]
        mids, frombytes = self._mids, int.from_bytes
        value = max(lo, 0)
        while value < hi:
            top = value >> 8
            end = min(hi, (top + 1) << 8)
            needle = _BYTES[top & 0xFF]
            at = mids.find(needle)
            while at >= 0:
                name = start + at * stride
                word = frombytes(data[name : name + 4], order)
                if value <= word < end:
                    found.append(word)
                at = mids.find(needle, at + 1)
            value = end
        return sorted(found)


_BYTES = [bytes((b,)) for b in range(256)]


def dead_ranges(
    table: StringTable, retired: Iterable[int], live: References
) -> list[tuple[int, int]]:
    """The byte ranges [start, end) of the ``retired`` strings that no ``live`` reference reads
    any more, merged: what an edit may overwrite."""
    spans: list[tuple[int, int]] = []
    for start in set(retired):
        end = table.nul_at_or_after(start)
        if not 0 <= start < table.size or end < 0:
            continue
        run_start = table.run_start(start)  # the run of bytes the string is a tail of
        readers = live.within(run_start, end + 1)
        first = readers[0] if readers else end + 1
        if first <= start:  # a live reference reads through the whole string
            continue
        spans.append((start, min(first, end + 1)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
