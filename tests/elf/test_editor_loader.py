"""Edited files are loaded by the real dynamic loader: gcc-built programs and libraries of every
architecture in the cross set (run under qemu-user with the cross libc's loader), the host's
(glibc, and musl through its own loader), before and after ``strip``; and system libraries,
edited and dlopen'ed.

Every layout the editor can choose is loaded on every architecture: written in place, into the
gap after a segment, by extending the last segment, into a new segment with the sections after
the program header table moved, and with the dynamic array moved (no spare slot); files without
section headers edited in place, in a gap and by extension, and refused when they would need a
new segment."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from manywheel.elf import EditMethod, ElfChanges, SegmentType, parse_elf
from manywheel.elf.structure import ElfStructure
from tests.elf.editing import (
    EXPECTED_OUTPUT,
    LOADABLE,
    Loadable,
    LoadableSet,
    apply,
    build_loadable,
    check_edit,
    exact_fit,
    run_program,
    strip_copy,
    without_sections,
)

HUGE = ":".join(f"/opt/very/long/search/path/{i:05d}" for i in range(3000))
LONG = "$ORIGIN/../../some/much/longer/directory/for/the/libraries:$ORIGIN"


@pytest.fixture(scope="module", params=LOADABLE, ids=[t.arch for t in LOADABLE])
def loadable(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> LoadableSet:
    toolchain: Loadable = request.param
    built = build_loadable(toolchain, tmp_path_factory.mktemp(f"loadable-{toolchain.arch}"))
    ran = run_program(toolchain, built.program)
    assert (ran.returncode, ran.stdout.strip()) == (0, EXPECTED_OUTPUT), ran.stderr
    return built


@dataclass(frozen=True, slots=True)
class Scenario:
    """Which file gets which edit, the layouts allowed, and whether it drops section headers or
    spare dynamic slots first."""

    name: str
    target: str  # "prog", "fix" or "big"
    changes: ElfChanges
    methods: frozenset[EditMethod]
    sections: bool = True
    spare_slots: bool = True


ANY_GROWTH = frozenset({EditMethod.GAP, EditMethod.EXTEND, EditMethod.NEW_SEGMENT})
SCENARIOS = [
    Scenario("clean", "prog", ElfChanges(rpath="$ORIGIN"), frozenset({EditMethod.IN_PLACE})),
    Scenario("grow", "prog", ElfChanges(rpath=LONG), ANY_GROWTH),
    Scenario(
        "new-segment",
        "prog",
        ElfChanges(rpath=f"{HUGE}:$ORIGIN"),
        frozenset({EditMethod.NEW_SEGMENT}),
    ),
    Scenario(
        "clean-no-sections",
        "prog",
        ElfChanges(rpath="$ORIGIN"),
        frozenset({EditMethod.IN_PLACE}),
        sections=False,
    ),
    Scenario("grow-no-sections", "prog", ElfChanges(rpath=LONG), ANY_GROWTH, sections=False),
    Scenario("extend", "fix", ElfChanges(rpath=HUGE), frozenset({EditMethod.EXTEND})),
    Scenario(
        "library-new-segment", "big", ElfChanges(rpath=HUGE), frozenset({EditMethod.NEW_SEGMENT})
    ),
    Scenario(
        "extend-no-sections",
        "fix",
        ElfChanges(rpath=HUGE),
        frozenset({EditMethod.EXTEND}),
        sections=False,
    ),
    Scenario("dynamic-moves", "fix", ElfChanges(rpath="$ORIGIN"), ANY_GROWTH, spare_slots=False),
    Scenario(
        "dynamic-moves-new-segment",
        "big",
        ElfChanges(rpath="$ORIGIN"),
        frozenset({EditMethod.NEW_SEGMENT}),
        spare_slots=False,
    ),
]


def _prepare(built: LoadableSet, scenario: Scenario, work: Path) -> Path:
    """A copy of the set in ``work`` with the scenario's input variant; returns the target."""
    work.mkdir()
    paths = {"prog": built.program, "fix": built.fix, "big": built.big}
    for key, source in paths.items():
        dest = work / source.name
        if key != scenario.target:
            dest.write_bytes(source.read_bytes())
            dest.chmod(source.stat().st_mode)
        elif not scenario.sections:
            without_sections(source, dest)
        elif not scenario.spare_slots:
            exact_fit(source, dest)
        else:
            dest.write_bytes(source.read_bytes())
            dest.chmod(source.stat().st_mode)
    return work / paths[scenario.target].name


def _check_layout(scenario: Scenario, before: bytes, after: bytes) -> None:
    old, new = ElfStructure.parse(before, "old"), ElfStructure.parse(after, "new")
    if scenario.methods == {EditMethod.NEW_SEGMENT}:  # the table grew where it was
        assert len(new.loads) == len(old.loads) + 1 and new.phoff == old.phoff
    if not scenario.spare_slots:
        old_dyn, new_dyn = old.segment(SegmentType.DYNAMIC), new.segment(SegmentType.DYNAMIC)
        assert old_dyn is not None and new_dyn is not None and new_dyn.vaddr != old_dyn.vaddr


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_edited_files_load(loadable: LoadableSet, scenario: Scenario, tmp_path: Path) -> None:
    toolchain = loadable.toolchain
    target = _prepare(loadable, scenario, tmp_path / "set")
    before = target.read_bytes()
    result = apply(target, scenario.changes, target)
    assert result.method in scenario.methods, result.method
    check_edit(before, result, tmp_path / "checked")
    _check_layout(scenario, before, result.data)
    ran = run_program(toolchain, tmp_path / "set" / "prog")
    assert (ran.returncode, ran.stdout.strip()) == (0, EXPECTED_OUTPUT), ran.stderr
    if not scenario.sections:
        return  # strip refuses a file without section headers
    stripped = tmp_path / "stripped"
    stripped.mkdir()
    for path in (tmp_path / "set").iterdir():
        if path.suffix != ".c" and not path.name.endswith(".o"):
            strip_copy(path, toolchain.strip, stripped / path.name)
    assert parse_elf((stripped / target.name).read_bytes()).rpath == parse_elf(result.data).rpath
    ran = run_program(toolchain, stripped / "prog")
    assert (ran.returncode, ran.stdout.strip()) == (0, EXPECTED_OUTPUT), ran.stderr


@pytest.mark.slow
def test_renamed_library_loads(loadable: LoadableSet, tmp_path: Path) -> None:
    """What a graft does: the library gets a new SONAME and file name, the program's DT_NEEDED
    (and version needs) follow."""
    work = tmp_path / "set"
    work.mkdir()
    new = "libfix-0123abcd.so.1"
    apply(loadable.program, ElfChanges(replace_needed=(("libfix.so.1", new),)), work / "prog")
    apply(loadable.fix, ElfChanges(soname=new), work / new)
    (work / "libbig.so.1").write_bytes(loadable.big.read_bytes())
    assert parse_elf((work / "prog").read_bytes()).needed[0] == new
    ran = run_program(loadable.toolchain, work / "prog")
    assert (ran.returncode, ran.stdout.strip()) == (0, EXPECTED_OUTPUT), ran.stderr


SYSTEM_LIBRARIES = {
    "libz.so.1": "zlibVersion",
    "libexpat.so.1": "XML_ExpatVersion",
    "libffi.so.8": "ffi_call",
    "libbz2.so.1.0": "BZ2_bzlibVersion",
    "libyaml-0.so.2": "yaml_get_version_string",
}
_LOAD = (
    "import ctypes, sys\n"
    "lib = ctypes.CDLL(sys.argv[1])\n"
    "getattr(lib, sys.argv[2])\n"
    "print('loaded')\n"
)


def _dlopen(path: Path, symbol: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LOAD, str(path), symbol],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("name", sorted(SYSTEM_LIBRARIES))
@pytest.mark.parametrize(
    "changes",
    [
        ElfChanges(rpath=LONG, soname="libedited-0123abcd.so.1"),
        ElfChanges(
            rpath=HUGE, rpath_tag=__import__("manywheel.elf", fromlist=["x"]).SearchPathTag.RPATH
        ),
    ],
    ids=["grow", "huge-rpath"],
)
def test_system_libraries_load(name: str, changes: ElfChanges, tmp_path: Path) -> None:
    source = Path("/usr/lib/x86_64-linux-gnu") / name
    if not source.is_file():
        pytest.skip(f"{source} is not installed (scripts/bootstrap installs it)")
    before = source.read_bytes()
    out = tmp_path / name
    result = apply(source, changes, out)
    assert result.changed
    check_edit(before, result, tmp_path / "checked.so")
    done = _dlopen(out, SYSTEM_LIBRARIES[name])
    assert done.stdout.strip() == "loaded", done.stderr
    stripped = strip_copy(out, "strip", tmp_path / f"stripped-{name}")
    done = _dlopen(stripped, SYSTEM_LIBRARIES[name])
    assert done.stdout.strip() == "loaded", done.stderr


@pytest.mark.parametrize("target", ["prog", "big"])
def test_a_new_segment_without_section_headers_is_refused(target: str, tmp_path: Path) -> None:
    """What follows the program header table is unknown without section headers: the editor
    will not make room there, nor move the table (kernels before 5.18 and stream readers would
    miss it); it says so, and names patchelf."""
    from manywheel.elf import edit_elf
    from manywheel.errors import ElfEditError

    built = build_loadable(LOADABLE[0], tmp_path / "built")
    source = built.program if target == "prog" else built.big
    bare = without_sections(source, tmp_path / "bare")
    with pytest.raises(ElfEditError, match=r"no section headers.*--patcher patchelf"):
        edit_elf(bare.read_bytes(), ElfChanges(rpath=HUGE), name=str(bare))


def test_moving_strings_that_count_the_symbols_is_refused(tmp_path: Path) -> None:
    """Without section headers, no DT_HASH and nothing hashed, the dynamic symbols are counted
    up to the next table, the string table: moving it would change what readers find. The
    editor refuses (a clean-up in place still works)."""
    from manywheel.elf import edit_elf
    from manywheel.errors import ElfEditError

    aarch64 = next(t for t in LOADABLE if t.arch == "aarch64")  # nothing hashed (x86_64's
    built = build_loadable(aarch64, tmp_path / "built")  # crt exports _IO_stdin_used)
    hidden = without_sections(built.directory / "prog-hidden", tmp_path / "hidden")
    data = hidden.read_bytes()
    with pytest.raises(ElfEditError, match="no hashed symbol"):
        edit_elf(data, ElfChanges(rpath=HUGE), name=str(hidden))
    assert edit_elf(data, ElfChanges(rpath="$ORIGIN")).method is EditMethod.IN_PLACE
