"""The RPATH clean-up's edits made while the audit scans the wheel
(:mod:`manywheel.repair.edits_ahead`): the same patches as the plan's where the plan changes
nothing else, the same repaired wheel as when the writer edits every member itself, the writer
editing what was not made ahead (past the budget, past the scan's size limit), and the scan
handing over each ELF member's checked bytes."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest

from manywheel.audit import scan, scan_wheel
from manywheel.repair import RepairOptions, edits_ahead, wheel_repair
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
    # more than a megabyte: the scan streams it (small members are read in one step)
    big = natives.extension(
        "ahead_big",
        "",
        [],
        body="__attribute__((used)) static const char pad[3 << 20] = {1};",
        extra=[_FOREIGN],
    )
    assert len(big) > 3 << 20
    clean = natives.extension(
        "ahead_clean", "", [], extra=["-Wl,--enable-new-dtags,-rpath,$ORIGIN"]
    )
    files = {
        "pkg/ahead_dirty.so": dirty,
        "pkg/ahead_again.so": again,
        "pkg/ahead_big.so": big,
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
    assert set(ahead) == {
        "pkg/ahead_dirty.so",
        "pkg/ahead_again.so",
        "pkg/ahead_big.so",
        "pkg/ahead_linked.so",
    }
    assert ahead["pkg/ahead_dirty.so"] == planned["pkg/ahead_dirty.so"]
    assert ahead["pkg/ahead_again.so"] == planned["pkg/ahead_again.so"]
    assert ahead["pkg/ahead_big.so"] == planned["pkg/ahead_big.so"]
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


def _made(monkeypatch: pytest.MonkeyPatch) -> list[edits_ahead.EditsAhead]:
    """The repairs' EditsAhead, kept (to see how many results the writer took)."""
    made: list[edits_ahead.EditsAhead] = []

    class Recorded(edits_ahead.EditsAhead):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(wheel_repair, "EditsAhead", Recorded)
    return made


def test_edits_made_while_scanning_give_the_same_wheel(
    repair: Repair, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:  # the writer edits every member itself
        m.setattr(wheel_repair, "_edits_ahead", lambda archive, request: None)
        writer_only = repair(wheel, tmp_path / "writer")
    with monkeypatch.context() as m:
        counted = _Counted(m)
        made = _made(m)
        ahead = repair(wheel, tmp_path / "ahead")
    assert len(made) == 1 and made[0].taken == 3  # ahead_dirty.so, ahead_again.so, ahead_big.so
    # linked.so's clean-up was made while scanning too, but the plan also renames its
    # DT_NEEDED: the writer makes the plan's edit, the one made ahead is not used
    expected = {
        "pkg/ahead_dirty.so": 1,
        "pkg/ahead_again.so": 1,
        "pkg/ahead_big.so": 1,
        "pkg/ahead_linked.so": 2,
    }
    assert counted.calls == Counter(expected)
    assert ahead.output.read_bytes() == writer_only.output.read_bytes()
    assert ahead.output.name == writer_only.output.name


def test_past_the_budget_the_writer_edits_the_members_itself(
    repair: Repair, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer_only = repair(wheel, tmp_path / "writer")
    with monkeypatch.context() as m:
        m.setattr(edits_ahead, "BUDGET", 0)
        counted = _Counted(m)
        made = _made(m)
        result = repair(wheel, tmp_path / "late")
    assert len(made) == 1 and made[0].taken == 0
    # each edited ahead (and let go), then by the writer
    assert counted.calls == Counter(
        {
            "pkg/ahead_dirty.so": 2,
            "pkg/ahead_again.so": 2,
            "pkg/ahead_big.so": 2,
            "pkg/ahead_linked.so": 2,
        }
    )
    assert result.output.read_bytes() == writer_only.output.read_bytes()


def test_members_above_the_scans_limit_are_left_to_the_writer(
    repair: Repair, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members the scan does not read whole (bigger than CONTENT_LIMIT) are not edited ahead."""
    writer_only = repair(wheel, tmp_path / "writer")
    with monkeypatch.context() as m:
        m.setattr(scan, "CONTENT_LIMIT", 0)
        counted = _Counted(m)
        made = _made(m)
        result = repair(wheel, tmp_path / "big")
    assert len(made) == 1 and made[0].taken == 0
    assert counted.calls == Counter(
        {
            "pkg/ahead_dirty.so": 1,
            "pkg/ahead_again.so": 1,
            "pkg/ahead_big.so": 1,
            "pkg/ahead_linked.so": 1,
        }
    )
    assert result.output.read_bytes() == writer_only.output.read_bytes()


def test_other_patchers_and_no_clean_up_edit_nothing_ahead(
    repair: Repair, wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _made(monkeypatch)
    repair(wheel, clean_rpaths=False)
    repair(wheel, strip=True)
    assert made == []


def test_the_scan_hands_over_each_elf_members_checked_bytes(wheel: Path) -> None:
    seen: dict[str, bytes] = {}
    with WheelArchive.open(wheel) as archive:
        plain = scan_wheel(archive)
    with WheelArchive.open(wheel) as archive:
        handed = scan_wheel(archive, on_content=lambda name, elf, data: seen.update({name: data}))
        digests = {m.name: archive.verified_digest(m.name) for m in archive.members}
    assert handed == plain  # the same facts, read whole or streamed
    with zipfile.ZipFile(wheel) as z:
        elves = {n for n in z.namelist() if z.read(n)[:4] == b"\x7fELF"}
        assert set(seen) == elves
        assert all(seen[n] == z.read(n) for n in elves)
    # read whole, each ELF member was still hashed for RECORD as it was read
    assert all(digests[n] is not None for n in elves)
