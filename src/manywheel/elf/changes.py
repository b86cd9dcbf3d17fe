"""What an edit asks for (:class:`ElfChanges`) and what it means for the dynamic array: the new
entries, the version-need files renamed with them, the strings that stop being used, and the
facts the reader must give afterwards (:class:`DynamicFacts`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from operator import itemgetter

from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import ElfType
from manywheel.elf.strtab import NeedRecord, StringTable
from manywheel.elf.structure import ElfStructure
from manywheel.errors import ElfEditError

__all__ = [
    "DynamicFacts",
    "DynamicPlan",
    "ElfChanges",
    "NewString",
    "SearchPathTag",
    "facts_of",
    "plan",
]


class SearchPathTag(Enum):
    """Which entry a new search path is written to."""

    #: The kind the file has (both, if it has both); DT_RUNPATH when it has none (patchelf's
    #: default for ``--set-rpath``).
    KEEP = "keep"
    #: DT_RPATH (a DT_RUNPATH is removed): searched for the file's dependencies and theirs.
    RPATH = "rpath"
    #: DT_RUNPATH (a DT_RPATH is removed): searched for the file's own dependencies only.
    RUNPATH = "runpath"


@dataclass(frozen=True, slots=True)
class ElfChanges:
    """The edits to make to one ELF file's dynamic section. Names of libraries that the file does
    not need are ignored (as patchelf does); everything else is applied in this order: remove
    DT_NEEDED entries, replace others (and the version needs that name them), set DT_SONAME, set
    or remove the search path."""

    soname: str | None = None
    replace_needed: tuple[tuple[str, str], ...] = ()
    remove_needed: tuple[str, ...] = ()
    #: The new DT_RPATH/DT_RUNPATH value (``:``-separated), written as ``rpath_tag`` says.
    rpath: str | None = None
    rpath_tag: SearchPathTag = SearchPathTag.KEEP
    #: Remove every DT_RPATH and DT_RUNPATH entry.
    remove_rpath: bool = False

    def __post_init__(self) -> None:
        if self.rpath is not None and self.remove_rpath:
            raise ValueError("rpath and remove_rpath cannot both be given")
        texts = [self.soname, self.rpath, *self.remove_needed]
        texts += [name for pair in self.replace_needed for name in pair]
        for text in texts:
            if text is not None and "\0" in text:
                raise ValueError(f"a NUL character cannot be part of {text!r}")
        for name in (self.soname, *(new for _, new in self.replace_needed)):
            if name is not None and not name:
                raise ValueError("a library name cannot be empty")

    @property
    def empty(self) -> bool:
        return (
            self.soname is None
            and not self.replace_needed
            and not self.remove_needed
            and self.rpath is None
            and not self.remove_rpath
        )


@dataclass(frozen=True, slots=True, eq=False)
class NewString:
    """A string the edit adds to the string table (its offset is decided later). Compared by
    identity: each is one entry's new value."""

    text: bytes


Value = int | NewString


@dataclass(frozen=True, slots=True)
class DynamicFacts:
    """The dynamic facts the reader must give after the edit, as :class:`ElfFile` spells them."""

    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    #: Version-need files renamed by the edit: old name -> new name.
    renamed_needs: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class DynamicPlan:
    """The dynamic array after the edit, with new strings still symbolic."""

    entries: list[tuple[int, Value]]
    #: Version-need records whose vn_file changes, with the new name.
    needs: list[tuple[NeedRecord, NewString | int]]
    #: Offsets of strings that the changed entries and records referenced.
    retired: set[int]
    #: DT_NEEDED names replaced (and version-need files renamed): old -> new.
    renames: dict[str, str]
    changed: bool
    #: The entries whose value is a new string: index -> the string.
    new_at: dict[int, NewString] = field(default_factory=dict)

    @property
    def new_strings(self) -> list[bytes]:
        """The distinct new strings, in the order they appear."""
        texts = [v.text for v in self.new_at.values()]
        texts += [v.text for _, v in self.needs if isinstance(v, NewString)]
        return list(dict.fromkeys(texts)) if len(texts) > 1 else texts


_NEEDED, _SONAME, _RPATH, _RUNPATH = int(DT.NEEDED), int(DT.SONAME), int(DT.RPATH), int(DT.RUNPATH)
_DYN = int(ElfType.DYN)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class _Planner:
    def __init__(self, elf: ElfStructure, table: StringTable, records: list[NeedRecord]) -> None:
        assert elf.dynamic is not None
        self.elf = elf
        self.table = table
        self.entries: list[tuple[int, Value]] = list(elf.dynamic.entries)
        self.records = records
        self.needs: list[tuple[NeedRecord, NewString | int]] = []
        self.retired: set[int] = set()
        self.changed = False
        #: The entries' tags (``None``: to be read again, the entries changed).
        self._tags: list[int] | None = None
        #: The new strings the entries got.
        self.created: list[NewString] = []

    def text(self, value: Value) -> str:
        if isinstance(value, NewString):
            return _decode(value.text)
        return _decode(self.table.string_at(value))

    def remove(self, keep: dict[int, bool]) -> None:
        """Drop the entries whose index maps to False."""
        kept = []
        for i, (tag, value) in enumerate(self.entries):
            if keep.get(i, True):
                kept.append((tag, value))
            else:
                self.changed = True
                if isinstance(value, int):
                    self.retired.add(value)
        self.entries = kept
        self._tags = None

    def set_value(self, index: int, tag: int, new: str) -> None:
        old_tag, old = self.entries[index]
        raw = _encode(new)
        current = old.text if isinstance(old, NewString) else self.table.string_at(old)
        if old_tag == tag and current == raw:
            return
        self.changed = True
        if isinstance(old, int):
            self.retired.add(old)
        fresh = NewString(raw)
        self.entries[index] = (tag, fresh)
        self.created.append(fresh)
        if tag != old_tag:
            self._tags = None

    def insert(self, tag: int, new: str) -> None:
        """A new entry at the top of the array, as patchelf adds one."""
        self.changed = True
        fresh = NewString(_encode(new))
        self.entries.insert(0, (tag, fresh))
        self.created.append(fresh)
        self._tags = None

    def indices(self, tag: int) -> list[int]:
        if self._tags is None:
            self._tags = list(map(itemgetter(0), self.entries))
        tags = self._tags
        if tag not in tags:  # (C calls, not a Python step per entry)
            return []
        found = [tags.index(tag)]
        while tag in tags[found[-1] + 1 :]:
            found.append(tags.index(tag, found[-1] + 1))
        return found

    def needed(self, changes: ElfChanges) -> dict[str, str]:
        if not changes.remove_needed and not changes.replace_needed:
            return {}
        removed = set(changes.remove_needed)
        self.remove(
            {i: self.text(self.entries[i][1]) not in removed for i in self.indices(_NEEDED)}
        )
        renames = {old: new for old, new in changes.replace_needed if old != new}
        for i in self.indices(_NEEDED):
            old = self.text(self.entries[i][1])
            if old in renames:
                self.set_value(i, _NEEDED, renames[old])
        for record in self.records:
            old = _decode(self.table.string_at(record.file))
            if old in renames:
                self.changed = True
                self.retired.add(record.file)
                self.needs.append((record, NewString(_encode(renames[old]))))
        return renames

    def soname(self, soname: str) -> None:
        if self.elf.e_type != _DYN:
            raise ElfEditError(
                "cannot set a SONAME: not a shared library (ET_DYN)", path=self.elf.name
            )
        found = self.indices(_SONAME)
        for i in found:
            self.set_value(i, _SONAME, soname)
        if not found:
            self.insert(_SONAME, soname)

    def search_path(self, changes: ElfChanges) -> None:
        if changes.remove_rpath:
            self.remove(dict.fromkeys(self.indices(_RPATH) + self.indices(_RUNPATH), False))
            return
        assert changes.rpath is not None
        rpaths, runpaths = self.indices(_RPATH), self.indices(_RUNPATH)
        want = changes.rpath_tag
        if want is SearchPathTag.KEEP:
            targets = [(i, self.entries[i][0]) for i in rpaths + runpaths]
            if not targets:
                self.insert(_RUNPATH, changes.rpath)
            for i, tag in targets:
                self.set_value(i, tag, changes.rpath)
            return
        tag, other = (_RPATH, runpaths) if want is SearchPathTag.RPATH else (_RUNPATH, rpaths)
        same = rpaths if want is SearchPathTag.RPATH else runpaths
        if same:  # the kind asked for exists: set it, drop the other kind
            for i in same:
                self.set_value(i, tag, changes.rpath)
            self.remove(dict.fromkeys(other, False))
        elif other:  # convert the other kind in its slot (as patchelf --force-rpath does)
            self.set_value(other[0], tag, changes.rpath)
            self.remove(dict.fromkeys(other[1:], False))
        else:
            self.insert(tag, changes.rpath)


def facts_of(
    entries: list[tuple[int, int]], string_at: Callable[[int], bytes], renames: dict[str, str]
) -> DynamicFacts:
    """The dynamic facts ``entries`` give, their strings read with ``string_at``."""
    found: dict[int, list[str]] = {_NEEDED: [], _SONAME: [], _RPATH: [], _RUNPATH: []}
    for tag, value in entries:
        if tag in found:
            found[tag].append(_decode(string_at(value)))
    rpath, runpath, soname = found[_RPATH], found[_RUNPATH], found[_SONAME]
    return DynamicFacts(
        needed=tuple(found[_NEEDED]),
        soname=soname[0] if soname else None,
        rpath=tuple(rpath[0].split(":")) if rpath else (),
        runpath=tuple(runpath[0].split(":")) if runpath else (),
        renamed_needs=renames,
    )


def plan(
    elf: ElfStructure, table: StringTable, records: list[NeedRecord], changes: ElfChanges
) -> DynamicPlan:
    """What ``changes`` do to the dynamic array of ``elf``."""
    planner = _Planner(elf, table, records)
    renames = planner.needed(changes)
    if changes.soname is not None:
        planner.soname(changes.soname)
    if changes.rpath is not None or changes.remove_rpath:
        planner.search_path(changes)
    entries = planner.entries
    new_at = {}
    if planner.created:  # where they are now (by identity: C calls, not a step per entry)
        values = list(map(itemgetter(1), entries))
        for fresh in planner.created:
            if fresh in values:
                new_at[values.index(fresh)] = fresh
        new_at = dict(sorted(new_at.items()))
    return DynamicPlan(entries, planner.needs, planner.retired, renames, planner.changed, new_at)
