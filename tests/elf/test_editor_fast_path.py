"""The commonest edit (a search path written over itself: a repair's RPATH clean-up) is made
without the general planner: it must write exactly the bytes the general way writes, and be
refused by the fast way whenever the general way would do anything else (a kind converted, a
string that does not fit or that something else reads, two search paths, other edits)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.elf import EditMethod, ElfChanges, ElfFile, SearchPathTag, parse_elf
from manywheel.elf.editor import _edit
from manywheel.elf.search_path import search_path_over_itself
from manywheel.elf.strtab import StringTable, version_need_records
from manywheel.elf.structure import ElfStructure
from manywheel.errors import ElfEditError
from manywheel.wheel import WheelArchive
from tests.elf.conftest import CROSS, TORCH_WHEEL

CHANGES: list[Callable[[ElfFile], ElfChanges]] = [
    lambda old: ElfChanges(rpath="."),
    lambda old: ElfChanges(rpath=":".join((old.runpath or old.rpath or ("$ORIGIN",))[:1])),
    lambda old: ElfChanges(rpath="$ORIGIN", rpath_tag=SearchPathTag.RPATH),
    lambda old: ElfChanges(rpath="$ORIGIN", rpath_tag=SearchPathTag.RUNPATH),
    lambda old: ElfChanges(rpath=":".join(old.runpath or old.rpath or ("x",))),  # unchanged
    lambda old: ElfChanges(rpath="$ORIGIN/" + "x" * 4000),  # does not fit
    lambda old: ElfChanges(rpath="$ORIGIN", soname="libother.so.1"),
    lambda old: ElfChanges(remove_rpath=True),
]


def _both(data: bytes, changes: ElfChanges) -> bool:
    """Whether the fast way made the edit (then it wrote what the general way writes)."""
    elf = ElfStructure.parse(data, "<fast>")
    table = StringTable.of(elf)
    records, aux = version_need_records(elf)
    fast = search_path_over_itself(elf, table, records, aux, changes)
    try:
        general = _edit(ElfStructure.parse(data, "<general>"), table, records, aux, changes)
    except ElfEditError:  # the general way refuses: the fast way must not have made it
        assert fast is None
        return False
    if fast is None:
        return False
    assert general.method is EditMethod.IN_PLACE
    assert (fast, {}) == (general.patches, general.renames)
    return True


def _with_search_paths() -> list[Path]:
    """The committed cross fixtures that have a search path (every architecture)."""
    found = []
    for path in sorted(p for p in CROSS.glob("*/*") if p.is_file()):
        old = parse_elf(path.read_bytes())
        if old.runpath or old.rpath:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _with_search_paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_fast_way_writes_what_the_general_way_writes(path: Path) -> None:
    data = path.read_bytes()
    old = parse_elf(data)
    made = [_both(data, make(old)) for make in CHANGES]
    assert made[0]  # "." over a longer path: the fast way
    assert not any(made[4:])  # unchanged, too long, other edits, removal: the general way


def test_a_torch_member_is_cleaned_the_fast_way() -> None:
    if not TORCH_WHEEL.is_file():
        pytest.skip(f"{TORCH_WHEEL} is not on this machine (the local index provides it)")
    with WheelArchive.open(TORCH_WHEEL) as archive:
        data = archive.read_member("torch/test/atest")
    old = parse_elf(data)
    kept = ":".join(p for p in old.runpath if p.startswith("$ORIGIN"))
    changes = ElfChanges(rpath=kept)
    elf = ElfStructure.parse(data, "atest")
    records, aux = version_need_records(elf)
    assert search_path_over_itself(elf, StringTable.of(elf), records, aux, changes) is not None
    _both(data, changes)
