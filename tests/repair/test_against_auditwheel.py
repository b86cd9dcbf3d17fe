"""The same fixture wheels repaired by auditwheel 6.8.2 and by manywheel: the same platform tags,
the same grafted file names, the same DT_NEEDED and RPATH in every ELF file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from manywheel.elf import parse_elf
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives
from tests.repair.reference import run_auditwheel


def _shape(wheel: Path) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    with zipfile.ZipFile(wheel) as z:
        elves = {n: z.read(n) for n in z.namelist() if z.read(n)[:4] == b"\x7fELF"}
    out = {}
    for name, data in elves.items():
        elf = parse_elf(data, name=name)
        out[name] = (elf.needed, elf.rpath + elf.runpath)
    return out


CASES = {
    "chain": ("int foo(int);", "foo(1);", ["-lfoo"]),
    "private": ("int priv(void);", "priv();", ["-lpriv"]),
    "threads": ("int spawn(void);", "spawn();", ["-lthreads"]),
}


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_same_result_as_auditwheel(
    case: str, repair: Repair, natives: Natives, tmp_path: Path
) -> None:
    body, call, links = CASES[case]
    # auditwheel 6.8.2 finds the libc only through an extension's own DT_NEEDED (it stops with
    # "couldn't detect libc" otherwise; manywheel does not need that): link libc explicitly.
    ext = natives.extension(
        f"aw_{case}", call, links, body=body, extra=["-Wl,--no-as-needed", "-lc"]
    )
    wheel = natives.wheel(f"aw{case}", {f"aw_{case}.so": ext})
    theirs = run_auditwheel(wheel, tmp_path / "auditwheel", natives)
    ours = repair(wheel, tmp_path / "manywheel").output
    assert ours.name == theirs.name
    assert _shape(ours) == _shape(theirs)
