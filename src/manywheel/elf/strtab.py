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
from dataclasses import dataclass

from manywheel.elf.constants import DT_LOOS
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SectionType as SHT
from manywheel.elf.dynamic import gnu_hash_count, sysv_hash_count
from manywheel.elf.layout import BufferImage
from manywheel.elf.structure import ElfStructure
from manywheel.elf.symbols import name_words
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


@dataclass(frozen=True, slots=True)
class StringTable:
    """The dynamic string table's bytes and where they are."""

    data: bytes
    offset: int
    vaddr: int

    @classmethod
    def of(cls, elf: ElfStructure) -> StringTable:
        assert elf.dynamic is not None
        vaddr, size = elf.dynamic.first(DT.STRTAB), elf.dynamic.first(DT.STRSZ)
        if vaddr is None or size is None:
            raise InvalidElfError("the dynamic section has no DT_STRTAB/DT_STRSZ", path=elf.name)
        offset = elf.offset_of(vaddr, size, "DT_STRTAB")
        return cls(elf.data[offset : offset + size], offset, vaddr)

    def string_at(self, offset: int) -> bytes:
        end = self.data.find(b"\0", offset)
        if not 0 <= offset < len(self.data) or end < 0:
            raise InvalidElfError(
                f"string offset 0x{offset:x} is outside the dynamic string table "
                f"(0x{len(self.data):x} bytes)"
            )
        return self.data[offset:end]

    def find(self, text: bytes, avoid: Sequence[tuple[int, int]] = ()) -> int | None:
        """An offset at which ``text`` is a whole NUL-terminated string (possibly the tail of a
        longer one) whose bytes do not touch any of the ``avoid`` ranges."""
        needle = text + b"\0"
        at = self.data.find(needle)
        while at >= 0:
            end = at + len(needle)
            if not any(s < end and at < e for s, e in avoid):
                return at
            at = self.data.find(needle, at + 1)
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


@dataclass(frozen=True, slots=True)
class NeedRecord:
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


def _version_need_records(elf: ElfStructure) -> tuple[list[NeedRecord], list[int]]:
    assert elf.dynamic is not None
    layout, data = elf.layout, elf.data
    pair = _PAIRS[layout.endian]
    records: list[NeedRecord] = []
    names: list[int] = []
    start, count = elf.dynamic.first(DT.VERNEED), elf.dynamic.first(DT.VERNEEDNUM) or 0
    at = elf.offset_of(start, layout.verneed.size, "DT_VERNEED") if start is not None else 0
    for _ in range(count if start is not None else 0):
        _check(elf, at, layout.verneed.size, "version need")
        _ver, cnt, file_off, aux, nxt = layout.verneed.unpack_from(data, at)
        records.append(NeedRecord(at + 4, file_off))
        _chain(elf, pair, at + aux, cnt, 8, names)
        if nxt == 0:
            break
        at += nxt
    start, count = elf.dynamic.first(DT.VERDEF), elf.dynamic.first(DT.VERDEFNUM) or 0
    at = elf.offset_of(start, layout.verdef.size, "DT_VERDEF") if start is not None else 0
    for _ in range(count if start is not None else 0):
        _check(elf, at, layout.verdef.size, "version definition")
        _ver, _flags, _ndx, cnt, _hash, aux, nxt = layout.verdef.unpack_from(data, at)
        _chain(elf, pair, at + aux, cnt, 0, names)
        if nxt == 0:
            break
        at += nxt
    return records, names


def _chain(  # noqa: PLR0917 - a hot loop's parts
    elf: ElfStructure, pair: struct.Struct, at: int, count: int, field: int, names: list[int]
) -> None:
    """Append the name fields of a vernaux/verdaux chain to ``names`` (``field``: where the
    (name, next) pair of words is in each entry)."""
    data = elf.data
    limit = len(data) - field - 8
    for _ in range(count):
        if not 0 <= at <= limit:
            raise InvalidElfError("version entry runs past the end of the file", path=elf.name)
        name, step = pair.unpack_from(data, at + field)
        names.append(name)
        if step == 0:
            break
        at += step


def _check(elf: ElfStructure, at: int, size: int, what: str) -> None:
    if not 0 <= at <= len(elf.data) - size:
        raise InvalidElfError(f"{what} runs past the end of the file", path=elf.name, offset=at)


class References:
    """String-table offsets that something reads: the dynamic symbols' st_name words, searched
    where they lie (no list of thousands of offsets is built), and a few more given explicitly.

    :meth:`within` finds the words in a range by their three high bytes (``bytes.find``, C
    speed), 256 offsets at a time: an edit asks about the few bytes of one string."""

    __slots__ = ("_big", "_extra", "_words")

    def __init__(self, words: bytes, *, big_endian: bool, extra: Iterable[int] = ()) -> None:
        self._words = words
        self._big = big_endian
        self._extra = sorted(set(extra))

    @classmethod
    def of(cls, elf: ElfStructure, extra: Iterable[int]) -> References:
        """The dynamic symbols' names of ``elf`` and ``extra``."""
        words = b""
        span = symbol_table_span(elf)
        if span is not None:
            start, count = span
            words = name_words(elf.data[start : start + count * elf.layout.sym.size], elf.layout)
        return cls(words, big_endian=elf.layout.endian == ">", extra=extra)

    def within(self, lo: int, hi: int) -> list[int]:
        """The referenced offsets in [lo, hi), sorted (with repeats for repeated words)."""
        found = self._extra[bisect_left(self._extra, lo) : bisect_left(self._extra, hi)]
        words, big = self._words, self._big
        phase = 0 if big else 1
        value = max(lo, 0)
        while value < hi:
            top = value >> 8
            end = min(hi, (top + 1) << 8)
            prefix = top.to_bytes(3, "big" if big else "little")
            at = words.find(prefix)
            while at >= 0:
                if at % 4 == phase:
                    word = (top << 8) | words[at + 3 if big else at - 1]
                    if value <= word < end:
                        found.append(word)
                at = words.find(prefix, at + 1)
            value = end
        return sorted(found)


def dead_ranges(
    table: StringTable, retired: Iterable[int], live: References
) -> list[tuple[int, int]]:
    """The byte ranges [start, end) of the ``retired`` strings that no ``live`` reference reads
    any more, merged: what an edit may overwrite."""
    spans: list[tuple[int, int]] = []
    data = table.data
    for start in set(retired):
        end = data.find(b"\0", start)
        if not 0 <= start < len(data) or end < 0:
            continue
        run_start = data.rfind(b"\0", 0, start) + 1  # the run of bytes the string is a tail of
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
