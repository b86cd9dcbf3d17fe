"""Symbol versioning: version needs (``.gnu.version_r``) and definitions (``.gnu.version_d``).

Chains are followed the way glibc does (``vn_next``/``vna_next``/``vd_next``/``vda_next`` until
0), bounded by the declared counts (DT_VERNEEDNUM, vn_cnt, ...); a count larger than the bytes
that could hold it is an error, so a hostile file can neither hang nor exhaust memory.
"""

from __future__ import annotations

from collections.abc import Callable

from manywheel.elf.constants import VERSYM_INDEX
from manywheel.elf.layout import Image, Layout
from manywheel.elf.model import VersionDefinition, VersionNeed, VersionNeedEntry
from manywheel.elf.symbols import VersionSlot
from manywheel.errors import InvalidElfError

__all__ = ["read_version_definitions", "read_version_needs", "version_slots"]

#: Reads a NUL-terminated string at an offset of the dynamic string table.
StringAt = Callable[[int], str]


def _check_count(image: Image, count: int, start: int, record: int, what: str) -> None:
    if count < 0 or start < 0 or count * record > image.size - start:
        raise InvalidElfError(
            f"{what}: count {count} does not fit in the file", path=image.name, offset=start
        )


def _advance(image: Image, offset: int, nxt: int, record: int, what: str) -> int:
    """The next record's offset; records may not overlap (which also rules out loops)."""
    if nxt < record:
        raise InvalidElfError(
            f"{what}: next-record offset {nxt} overlaps the record", path=image.name, offset=offset
        )
    return offset + nxt


def read_version_needs(
    image: Image, layout: Layout, start: int, count: int, string_at: StringAt
) -> tuple[VersionNeed, ...]:
    """``count`` Elfxx_Verneed records from file offset ``start``."""
    _check_count(image, count, start, layout.verneed.size, "version needs")
    needs: list[VersionNeed] = []
    offset = start
    for n in range(count):
        raw = image.read(offset, layout.verneed.size, "version need")
        version, cnt, file_off, aux, nxt = layout.verneed.unpack(raw)
        if version != 1:
            raise InvalidElfError(
                f"version need has version {version}, expected 1", path=image.name, offset=offset
            )
        entries = _read_vernaux(image, layout, offset + aux, cnt, string_at)
        needs.append(VersionNeed(file=string_at(file_off), entries=entries))
        if nxt == 0 or n == count - 1:
            break
        offset = _advance(image, offset, nxt, layout.verneed.size, "version needs")
    return tuple(needs)


def _read_vernaux(
    image: Image, layout: Layout, start: int, count: int, string_at: StringAt
) -> tuple[VersionNeedEntry, ...]:
    _check_count(image, count, start, layout.vernaux.size, "version need entries")
    entries: list[VersionNeedEntry] = []
    offset = start
    for _ in range(count):
        raw = image.read(offset, layout.vernaux.size, "version need entry")
        vhash, flags, other, name, nxt = layout.vernaux.unpack(raw)
        entries.append(VersionNeedEntry(string_at(name), flags, other & VERSYM_INDEX, vhash))
        if nxt == 0:
            break
        offset = _advance(image, offset, nxt, layout.vernaux.size, "version need entries")
    return tuple(entries)


def read_version_definitions(
    image: Image, layout: Layout, start: int, count: int, string_at: StringAt
) -> tuple[VersionDefinition, ...]:
    """``count`` Elfxx_Verdef records from file offset ``start``."""
    _check_count(image, count, start, layout.verdef.size, "version definitions")
    defs: list[VersionDefinition] = []
    offset = start
    for n in range(count):
        raw = image.read(offset, layout.verdef.size, "version definition")
        version, flags, ndx, cnt, vhash, aux, nxt = layout.verdef.unpack(raw)
        if version != 1:
            raise InvalidElfError(
                f"version definition has version {version}, expected 1",
                path=image.name,
                offset=offset,
            )
        names = _read_verdaux(image, layout, offset + aux, cnt, string_at)
        if not names:
            raise InvalidElfError(
                "version definition without a name", path=image.name, offset=offset
            )
        defs.append(VersionDefinition(names[0], ndx & VERSYM_INDEX, flags, names[1:], vhash))
        if nxt == 0 or n == count - 1:
            break
        offset = _advance(image, offset, nxt, layout.verdef.size, "version definitions")
    return tuple(defs)


def _read_verdaux(
    image: Image, layout: Layout, start: int, count: int, string_at: StringAt
) -> tuple[str, ...]:
    _check_count(image, count, start, layout.verdaux.size, "version definition names")
    names: list[str] = []
    offset = start
    for _ in range(count):
        name, nxt = layout.verdaux.unpack(image.read(offset, layout.verdaux.size, "verdaux"))
        names.append(string_at(name))
        if nxt == 0:
            break
        offset = _advance(image, offset, nxt, layout.verdaux.size, "version definition names")
    return tuple(names)


def version_slots(
    needs: tuple[VersionNeed, ...], definitions: tuple[VersionDefinition, ...]
) -> tuple[VersionSlot | None, ...]:
    """Version index -> what it names, for resolving .gnu.version entries."""
    by_index: dict[int, VersionSlot] = {}
    for d in definitions:
        by_index.setdefault(d.index, VersionSlot(d.name, None))
    for need in needs:
        for e in need.entries:
            by_index.setdefault(e.index, VersionSlot(e.name, need.file))
    if not by_index:
        return ()
    slots: list[VersionSlot | None] = [None] * (max(by_index) + 1)
    for index, slot in by_index.items():
        slots[index] = slot
    return tuple(slots)
