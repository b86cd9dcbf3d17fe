"""The commonest edit, made the short way: a repair's RPATH clean-up — the file's one search
path keeps its kind and gets a value no longer than its old one, written over it. The general
editor (:func:`manywheel.elf.edit_elf`) would plan it with every string and entry it could
change; here only that entry and its string are looked at, the same bytes are written (a
differential test holds the two ways to that) and the result gets the same check."""

from __future__ import annotations

from operator import itemgetter

from manywheel.elf.changes import ElfChanges, SearchPathTag
from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.strtab import (
    NeedRecord,
    References,
    StringTable,
    dead_ranges,
    string_values,
)
from manywheel.elf.structure import ElfStructure
from manywheel.elf.verification import Expected, check_in_place

__all__ = ["search_path_over_itself"]

_RPATH, _RUNPATH = int(DT.RPATH), int(DT.RUNPATH)
#: The search-path entries' tags, and the kind an edit may ask for that keeps them.
_KINDS = {_RPATH: SearchPathTag.RPATH, _RUNPATH: SearchPathTag.RUNPATH}


def search_path_over_itself(
    elf: ElfStructure,
    table: StringTable,
    records: list[NeedRecord],
    aux: list[int],
    changes: ElfChanges,
) -> tuple[tuple[int, bytes], ...] | None:
    """The bytes to write over ``elf`` — checked — when ``changes`` only sets the search path
    of a file that has one search-path entry, of the kind asked for (or any kind:
    ``SearchPathTag.KEEP``), to a new value that fits where the old one is and that nothing
    else reads; ``None``: any other edit (the general way makes it). ``records`` and ``aux``:
    the version tables' string references (:func:`version_need_records`)."""
    assert elf.dynamic is not None
    if changes.rpath is None or changes.soname is not None:
        return None
    if changes.replace_needed or changes.remove_needed:
        return None
    entries = elf.dynamic.entries
    tags = list(map(itemgetter(0), entries))
    found = [tags.index(t) for t in (_RPATH, _RUNPATH) if t in tags]
    if len(found) != 1 or tags.count(entries[found[0]][0]) != 1:
        return None
    index = found[0]
    tag, old = entries[index]
    if changes.rpath_tag is not _KINDS.get(tag) and changes.rpath_tag is not SearchPathTag.KEEP:
        return None  # (converted to the other kind: the array changes)
    text = changes.rpath.encode("utf-8", "surrogateescape")
    end = table.nul_at_or_after(old)
    if not 0 <= old < table.size or end < 0 or len(text) > end - old:
        return None
    if table.string_at(old) == text:
        return None  # (unchanged)
    offsets = string_values(entries[:index] + entries[index + 1 :])
    live = References.of(elf, [*offsets, *[r.file for r in records], *aux])
    free = dead_ranges(table, (old,), live)
    if not free or free[0][0] != old or free[0][1] - old < len(text) + 1:
        return None
    start, stop = free[0]
    patches = ((table.offset + start, text + bytes(stop - start - len(text))),)
    check_in_place(elf, table, Expected(entries, patches, {index: text}, {}), lambda: live)
    return patches
