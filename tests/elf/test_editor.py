"""The ELF editor on gcc-built fixtures of every architecture: each operation gives the facts
asked for and nothing else changes (our reader), GNU readelf reads the result without complaint
and agrees, ``strip`` keeps it readable, and the layout rules hold. Refusals say why."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.elf import (
    EditMethod,
    ElfChanges,
    ElfFile,
    Machine,
    SearchPathTag,
    edit_elf,
    parse_elf,
)
from manywheel.elf.strtab import StringTable
from manywheel.elf.structure import ElfStructure
from manywheel.elf.verification import Expected, check_in_place
from manywheel.errors import ElfEditError, InvalidElfError
from tests.elf.conftest import CROSS
from tests.elf.editing import (
    check_edit,
    exact_fit,
    readelf_clean,
    set_machine,
    strip_copy,
)

LONG = "$ORIGIN/../../some/much/longer/directory/for/the/libraries:$ORIGIN"
HUGE = ":".join(f"/opt/very/long/search/path/{i:05d}" for i in range(3000))
#: The committed cross fixtures edited here (every architecture, both kinds of search path, an
#: executable, a file without section headers).
CROSS_FILES = ("libuser.so", "librunpath.so", "prog", "libuser-noshdr.so", "libbase.so")
#: Cross strip for each committed architecture (ppc64 big-endian and the synthetic loongarch64
#: have none installed: readelf still reads them).
STRIPS = {
    "aarch64": "aarch64-linux-gnu-strip",
    "armv7l": "arm-linux-gnueabihf-strip",
    "i686": "i686-linux-gnu-strip",
    "ppc64le": "powerpc64le-linux-gnu-strip",
    "s390x": "s390x-linux-gnu-strip",
    "riscv64": "riscv64-linux-gnu-strip",
    "x86_64": "strip",
}


def _expected(old: ElfFile, changes: ElfChanges) -> ElfFile:
    """What the reader must say afterwards, from the request alone."""
    from dataclasses import replace

    renames = dict(changes.replace_needed)
    needed = tuple(renames.get(n, n) for n in old.needed if n not in changes.remove_needed)
    rpath, runpath = old.rpath, old.runpath
    if changes.remove_rpath:
        rpath = runpath = ()
    elif changes.rpath is not None:
        value = tuple(changes.rpath.split(":"))
        tag = changes.rpath_tag
        if tag is SearchPathTag.RPATH:
            rpath, runpath = value, ()
        elif tag is SearchPathTag.RUNPATH or not (old.rpath or old.runpath):
            rpath, runpath = (), value
        else:
            rpath, runpath = (value if old.rpath else ()), (value if old.runpath else ())
    soname = changes.soname if changes.soname is not None else old.soname
    return replace(old, needed=needed, soname=soname, rpath=rpath, runpath=runpath)


def _shrink(old: ElfFile) -> ElfChanges:
    paths = old.runpath or old.rpath
    return ElfChanges(rpath=paths[0] if paths else "$ORIGIN")


def _rename(old: ElfFile) -> ElfChanges:
    if not old.needed:
        return ElfChanges(rpath="$ORIGIN")
    base, _, rest = old.needed[0].partition(".so")
    return ElfChanges(replace_needed=((old.needed[0], f"{base}-0123abcd.so{rest}"),))


def _everything(old: ElfFile) -> ElfChanges:
    renamed = _rename(old).replace_needed
    return ElfChanges(replace_needed=renamed, soname="libedited-0123abcd.so.7", rpath=LONG)


#: (id, changes from the input's facts, the layouts it may take)
OPERATIONS: list[tuple[str, Callable[[ElfFile], ElfChanges], set[EditMethod] | None]] = [
    ("shrink-rpath", _shrink, None),
    ("grow-rpath", lambda _: ElfChanges(rpath=LONG), None),
    ("huge-rpath", lambda _: ElfChanges(rpath=HUGE), {EditMethod.EXTEND, EditMethod.NEW_SEGMENT}),
    (
        "remove-rpath",
        lambda _: ElfChanges(remove_rpath=True),
        {EditMethod.IN_PLACE, EditMethod.UNCHANGED},
    ),
    ("force-rpath", lambda _: ElfChanges(rpath="$ORIGIN/x", rpath_tag=SearchPathTag.RPATH), None),
    ("runpath", lambda _: ElfChanges(rpath="$ORIGIN/y", rpath_tag=SearchPathTag.RUNPATH), None),
    ("replace-needed", _rename, None),
    ("remove-needed", lambda old: ElfChanges(remove_needed=old.needed[:1]), None),
    ("set-soname", lambda _: ElfChanges(soname="libedited-0123abcd.so.7"), None),
    ("everything", _everything, None),
]


def _run_operation(
    source: Path,
    operation: Callable[[ElfFile], ElfChanges],
    allowed: set[EditMethod] | None,
    out: Path,
) -> tuple[ElfFile | None, bytes]:
    data = source.read_bytes()
    old = parse_elf(data)
    changes = operation(old)
    if changes.soname is not None and old.header.e_type != 3:  # ET_EXEC has no SONAME
        with pytest.raises(ElfEditError, match="not a shared library"):
            edit_elf(data, changes, name=str(source))
        return None, data
    result = edit_elf(data, changes, name=str(source))
    if allowed is not None:
        assert result.method in allowed
    if not result.changed:
        assert result.data is data
    after = check_edit(data, result, out, expected=_expected(old, changes))
    assert result.facts.needed == after.needed and result.facts.runpath == after.runpath
    return after, result.data


@pytest.mark.parametrize(("op", "operation", "allowed"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_host_fixtures(
    host_fixtures: dict[str, Path],
    op: str,
    operation: Callable[[ElfFile], ElfChanges],
    allowed: set[EditMethod] | None,
    tmp_path: Path,
) -> None:
    for name, source in sorted(host_fixtures.items()):
        out = tmp_path / name
        after, _ = _run_operation(source, operation, allowed, out)
        if (
            after is not None
            and "noshdr" not in name
            and op in ("grow-rpath", "huge-rpath", "everything")
        ):
            stripped = strip_copy(out, "strip", tmp_path / f"stripped-{name}")
            readelf_clean(stripped)
            again = parse_elf(stripped.read_bytes())
            assert (again.needed, again.soname, again.rpath, again.runpath) == (
                after.needed,
                after.soname,
                after.rpath,
                after.runpath,
            )


@pytest.mark.parametrize(("op", "operation", "allowed"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
@pytest.mark.parametrize("arch", sorted(p.name for p in CROSS.iterdir() if p.is_dir()))
def test_cross_fixtures(
    arch: str,
    op: str,
    operation: Callable[[ElfFile], ElfChanges],
    allowed: set[EditMethod] | None,
    tmp_path: Path,
) -> None:
    for name in CROSS_FILES:
        out = tmp_path / name
        after, _ = _run_operation(CROSS / arch / name, operation, allowed, out)
        strip = STRIPS.get(arch)
        if (
            after is None
            or strip is None
            or "noshdr" in name
            or op not in ("grow-rpath", "huge-rpath")
        ):
            continue
        stripped = strip_copy(out, strip, tmp_path / f"stripped-{name}")
        readelf_clean(stripped)
        assert parse_elf(stripped.read_bytes()).rpath == after.rpath


def test_cleaning_a_search_path_fits_in_place(host_fixtures: dict[str, Path]) -> None:
    """Keeping some entries of a search path never grows anything: the string is written over
    the old one and the rest of the old one is zeroed; no offset, address or size changes."""
    data = host_fixtures["libuser.so"].read_bytes()
    result = edit_elf(data, ElfChanges(rpath="$ORIGIN/../lib"))
    assert result.method is EditMethod.IN_PLACE
    assert len(result.data) == len(data)
    assert b"/opt/fixture" not in result.data
    assert [len(p) for _, p in result.patches] == [len("$ORIGIN/../lib:/opt/fixture") + 1]
    changed = [i for i, (a, b) in enumerate(zip(data, result.data, strict=True)) if a != b]
    ((offset, patch),) = result.patches
    assert offset <= changed[0] and changed[-1] < offset + len(patch)


def test_a_growing_table_takes_the_gap_after_a_segment(
    host_fixtures: dict[str, Path], tmp_path: Path
) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    result = edit_elf(data, ElfChanges(rpath=LONG))
    assert result.method is EditMethod.GAP
    before, after = ElfStructure.parse(data, "a"), ElfStructure.parse(result.data, "b")
    assert len(result.data) == len(data)
    assert len(after.phdrs) == len(before.phdrs)
    grown = [(a.filesz, b.filesz) for a, b in zip(before.loads, after.loads, strict=True) if a != b]
    assert len(grown) == 1 and grown[0][1] > grown[0][0]
    check_edit(data, result, tmp_path / "out.so")


def test_a_huge_table_extends_the_last_segment(
    host_fixtures: dict[str, Path], tmp_path: Path
) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    result = edit_elf(data, ElfChanges(rpath=HUGE))
    assert result.method is EditMethod.EXTEND
    before, after = ElfStructure.parse(data, "a"), ElfStructure.parse(result.data, "b")
    assert len(after.phdrs) == len(before.phdrs) and after.phoff == before.phoff
    assert after.loads[-1].filesz == after.loads[-1].memsz > before.loads[-1].memsz
    check_edit(data, result, tmp_path / "out.so")


def test_no_spare_dynamic_slot_moves_the_dynamic_array(
    host_fixtures: dict[str, Path], tmp_path: Path
) -> None:
    """librunpath.so has no SONAME: adding one needs a slot; with none spare the array moves to
    writable new space (glibc before 2.35 writes into .dynamic), and .dynamic follows."""
    source = exact_fit(host_fixtures["librunpath.so"], tmp_path / "fit.so")
    data = source.read_bytes()
    result = edit_elf(data, ElfChanges(soname="libnew.so.1"))
    assert result.changed and result.method is not EditMethod.IN_PLACE
    before, after = ElfStructure.parse(data, "a"), ElfStructure.parse(result.data, "b")
    old_dyn, new_dyn = before.segment(2), after.segment(2)
    assert old_dyn is not None and new_dyn is not None
    assert new_dyn.vaddr != old_dyn.vaddr and new_dyn.filesz > old_dyn.filesz
    section = after.section(".dynamic")
    assert section is not None and (section.addr, section.size) == (new_dyn.vaddr, new_dyn.filesz)
    old = parse_elf(data)
    check_edit(
        data, result, tmp_path / "out.so", expected=_expected(old, ElfChanges(soname="libnew.so.1"))
    )


def test_new_entries_go_first_as_patchelf_puts_them(host_fixtures: dict[str, Path]) -> None:
    data = host_fixtures["librunpath.so"].read_bytes()
    result = edit_elf(data, ElfChanges(soname="libnew.so.1"))
    after = ElfStructure.parse(result.data, "b")
    before = ElfStructure.parse(data, "a")
    assert after.dynamic is not None and before.dynamic is not None
    assert after.dynamic.entries[0][0] == 14  # DT_SONAME
    assert [t for t, _ in after.dynamic.entries[1:]] == [t for t, _ in before.dynamic.entries]


def test_an_unchanged_request_returns_the_input(host_fixtures: dict[str, Path]) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    for changes in (
        ElfChanges(),
        ElfChanges(rpath="$ORIGIN/../lib:/opt/fixture"),
        ElfChanges(soname="libuser.so"),
        ElfChanges(replace_needed=(("libnot-needed.so", "x.so"),)),
        ElfChanges(remove_needed=("libnot-needed.so",)),
    ):
        result = edit_elf(data, changes)
        assert result.method is EditMethod.UNCHANGED and result.data is data


def test_version_needs_follow_a_renamed_library(host_fixtures: dict[str, Path]) -> None:
    """glibc checks version needs against the libraries by the name vn_file gives: a renamed
    DT_NEEDED without its version need would abort the loader."""
    data = host_fixtures["libuser.so"].read_bytes()
    result = edit_elf(data, ElfChanges(replace_needed=(("libbase.so.1", "libbase-0123abcd.so.1"),)))
    after = parse_elf(result.data)
    assert [n.file for n in after.version_needs] == ["libbase-0123abcd.so.1"]
    assert {g.library for g in after.imports if g.library} == {"libbase-0123abcd.so.1"}


def test_a_suffix_shared_string_is_not_overwritten(host_fixtures: dict[str, Path]) -> None:
    """Linkers share string tails: an edit may only write bytes no other reference reads. The
    check proves it; here it is shown to refuse a write over a symbol's name."""
    data = host_fixtures["libuser.so"].read_bytes()
    elf = ElfStructure.parse(data, "libuser.so")
    assert elf.dynamic is not None
    table = StringTable.of(elf)
    name_at = table.data.find(b"base_old\0")
    assert name_at > 0
    writes = ((table.offset + name_at, b"XXXX"),)
    with pytest.raises(ElfEditError, match="overwritten"):
        check_in_place(
            elf,
            table,
            Expected(elf.dynamic.entries, writes, {}, {}),
            lambda: __import__("manywheel.elf.strtab", fromlist=["References"]).References.of(
                elf, []
            ),
        )


def test_writes_outside_the_dynamic_tables_are_refused(host_fixtures: dict[str, Path]) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    elf = ElfStructure.parse(data, "libuser.so")
    assert elf.dynamic is not None
    table = StringTable.of(elf)
    writes = ((0x10, b"\0"),)  # inside the ELF header
    with pytest.raises(ElfEditError, match="outside the dynamic tables"):
        check_in_place(elf, table, Expected(elf.dynamic.entries, writes, {}, {}), None)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda d: b"\x7fELF\x02\x01", InvalidElfError, "too short"),
        (lambda d: b"MZ" + d[2:], InvalidElfError, "not an ELF file"),
        (lambda d: set_machine(d, Machine.MIPS), ElfEditError, "not an architecture"),
        (lambda d: d[: len(d) // 3], InvalidElfError, "past the end"),
    ],
    ids=["truncated-header", "not-elf", "mips", "truncated"],
)
def test_bad_input_is_refused_with_the_reason(
    host_fixtures: dict[str, Path],
    make: Callable[[bytes], bytes],
    error: type[Exception],
    message: str,
) -> None:
    data = make(host_fixtures["libuser.so"].read_bytes())
    with pytest.raises(error, match=message):
        edit_elf(data, ElfChanges(rpath=LONG), name="bad.so")


def test_files_without_a_dynamic_section_are_refused(tmp_path: Path) -> None:
    start = tmp_path / "start.c"
    start.write_text("void _start(void) { for (;;) {} }\n")
    static = tmp_path / "static"
    subprocess.run(["gcc", "-static", "-nostdlib", "-o", str(static), str(start)], check=True)
    obj = tmp_path / "start.o"
    subprocess.run(["gcc", "-c", "-o", str(obj), str(start)], check=True)
    with pytest.raises(ElfEditError, match="no dynamic section"):
        edit_elf(static.read_bytes(), ElfChanges(rpath="$ORIGIN"))
    with pytest.raises(ElfEditError, match="not a shared library or an executable"):
        edit_elf(obj.read_bytes(), ElfChanges(rpath="$ORIGIN"))


def test_soname_of_a_non_pie_executable_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "main.c"
    source.write_text("int main(void) { return 0; }\n")
    program = tmp_path / "prog"
    subprocess.run(["gcc", "-no-pie", "-o", str(program), str(source)], check=True)
    with pytest.raises(ElfEditError, match="not a shared library"):
        edit_elf(program.read_bytes(), ElfChanges(soname="libx.so"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rpath": "a", "remove_rpath": True},
        {"rpath": "a\0b"},
        {"soname": ""},
        {"replace_needed": (("libx.so", ""),)},
    ],
    ids=["set-and-remove", "nul", "empty-soname", "empty-needed"],
)
def test_requests_that_make_no_sense_are_value_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ElfChanges(**kwargs)  # type: ignore[arg-type]
