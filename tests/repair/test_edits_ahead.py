"""The RPATH clean-up's edits made while the audit judges the wheel
(:mod:`manywheel.repair.edits_ahead`): the same patches as the plan's where the plan changes
nothing else, the same repaired wheel as when the writer edits every member itself, each member
edited once whichever thread gets to it, and nothing left running."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from manywheel.audit import scan_wheel
from manywheel.repair import ManywheelPatcher, RepairOptions, edits_ahead, wheel_repair
from manywheel.repair.plan import rpath_cleanup_patches
from manywheel.wheel import WheelArchive
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives

_FOREIGN = "-Wl,--enable-new-dtags,-rpath,/home/builder/build/lib:$ORIGIN/x"


@pytest.fixture(scope="module")
def wheel(natives: Natives) -> Path:
    """Two extensions whose RUNPATH only needs cleaning, one that also links a library the
    repair grafts (its DT_NEEDED changes too), and one whose RUNPATH is clean."""
    dirty = natives.extension("ahead_dirty", "", [], extra=[_FOREIGN])
    again = natives.extension("ahead_again", "", [], extra=[_FOREIGN, "-Wl,-z,now"])
    linked = natives.extension(
        "ahead_linked", "foo(1);", ["-lfoo"], body="int foo(int);", extra=[_FOREIGN]
    )
    clean = natives.extension(
        "ahead_clean", "", [], extra=["-Wl,--enable-new-dtags,-rpath,$ORIGIN"]
    )
    files = {
        "pkg/ahead_dirty.so": dirty,
        "pkg/ahead_again.so": again,
        "pkg/ahead_linked.so": linked,
        "pkg/ahead_clean.so": clean,
    }
    return natives.wheel("ahead", files)


def test_the_cleanup_patches_are_the_plans_where_it_changes_nothing_else(
    repair: Repair, wheel: Path
) -> None:
    with WheelArchive.open(wheel) as archive:
        scanned = scan_wheel(archive)
    ahead = {p.member: p for p in rpath_cleanup_patches(scanned, RepairOptions(), android=False)}
    result = repair(wheel)
    assert result.plan is not None
    planned = {p.member: p for p in result.plan.patches}
    assert set(ahead) == {"pkg/ahead_dirty.so", "pkg/ahead_again.so", "pkg/ahead_linked.so"}
    assert ahead["pkg/ahead_dirty.so"] == planned["pkg/ahead_dirty.so"]
    assert ahead["pkg/ahead_again.so"] == planned["pkg/ahead_again.so"]
    # the graft renames its DT_NEEDED and adds the libraries' directory: not the same patch
    assert planned["pkg/ahead_linked.so"].edits.replace_needed
    assert ahead["pkg/ahead_linked.so"] != planned["pkg/ahead_linked.so"]
    assert "pkg/ahead_clean.so" not in planned
    assert rpath_cleanup_patches(scanned, RepairOptions(clean_rpaths=False), android=False) == ()
    kept = RepairOptions(keep_rpaths=("/home/builder/*",))
    assert rpath_cleanup_patches(scanned, kept, android=False) == ()


class _Counted:
    """Counts the edits made, per member, by whichever thread makes them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[str] = Counter()
        original = edits_ahead.PatchEdit.__call__

        def call(edit: edits_ahead.PatchEdit, data: bytes) -> object:
            self.calls[edit._patch.member] += 1
            return original(edit, data)

        monkeypatch.setattr(edits_ahead.PatchEdit, "__call__", call)


def _made(monkeypatch: pytest.MonkeyPatch, *, finish_first: bool) -> list[edits_ahead.EditsAhead]:
    """The repairs' EditsAhead, kept; with ``finish_first`` each makes all its edits before
    the audit goes on (so the writer takes every one)."""
    made: list[edits_ahead.EditsAhead] = []

    class Recorded(edits_ahead.EditsAhead):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)
            if finish_first:
                self.wait()

    monkeypatch.setattr(wheel_repair, "EditsAhead", Recorded)
    return made


def test_edits_made_ahead_give_the_same_wheel(
    repair: Repair, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer_only = repair(wheel, tmp_path / "writer")
    with monkeypatch.context() as m:
        counted = _Counted(m)
        made = _made(m, finish_first=True)
        ahead = repair(wheel, tmp_path / "ahead")
    assert len(made) == 1 and made[0].taken == 2  # ahead_dirty.so and ahead_again.so
    # linked.so's clean-up was made ahead too, but the plan also renames its DT_NEEDED: the
    # writer makes the plan's edit, the one made ahead is not used
    expected = {"pkg/ahead_dirty.so": 1, "pkg/ahead_again.so": 1, "pkg/ahead_linked.so": 2}
    assert counted.calls == Counter(expected)
    assert ahead.output.read_bytes() == writer_only.output.read_bytes()
    assert ahead.output.name == writer_only.output.name


def test_a_member_the_thread_has_not_started_is_edited_by_the_writer_once(
    repair: Repair, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget the first result already exceeds: the thread waits before the first edit, the
    writer finds every member not started and edits it itself; none is edited twice."""
    writer_only = repair(wheel, tmp_path / "writer")
    with monkeypatch.context() as m:
        m.setattr(edits_ahead, "BUDGET", -1)
        counted = _Counted(m)
        made = _made(m, finish_first=False)
        result = repair(wheel, tmp_path / "late")
    assert len(made) == 1 and made[0].taken == 0
    assert counted.calls == Counter(
        {"pkg/ahead_dirty.so": 1, "pkg/ahead_again.so": 1, "pkg/ahead_linked.so": 1}
    )
    assert result.output.read_bytes() == writer_only.output.read_bytes()
    assert not [t for t in threading.enumerate() if t.name == "manywheel-edits-ahead"]


def test_members_above_the_size_limit_are_left_to_the_writer(
    wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edits_ahead, "LARGEST", 0)
    with WheelArchive.open(wheel) as archive:
        scanned = scan_wheel(archive)
        patches = rpath_cleanup_patches(scanned, RepairOptions(), android=False)
        before = {s.member: s.elf for s in scanned}
        ahead = edits_ahead.EditsAhead(archive, patches, before, ManywheelPatcher(), 6)
        try:
            ahead.wait()
            assert all(ahead.claim(p) is None for p in patches)
        finally:
            ahead.close()


def test_closing_stops_the_thread_and_lets_go(wheel: Path) -> None:
    with WheelArchive.open(wheel) as archive:
        scanned = scan_wheel(archive)
        patches = rpath_cleanup_patches(scanned, RepairOptions(), android=False)
        before = {s.member: s.elf for s in scanned}
        ahead = edits_ahead.EditsAhead(archive, patches, before, ManywheelPatcher(), 6)
        ahead.close()
        # after close, nothing is handed over: the writer edits every member itself
        for patch in patches:
            member = ahead.claim(patch)
            assert member is not None and member.ready is not None and member.ready() is None
    assert not [t for t in threading.enumerate() if t.name == "manywheel-edits-ahead"]
