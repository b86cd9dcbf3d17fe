"""Repairing Android wheels: grafts found through DT_RUNPATH (never DT_RPATH, which Bionic
ignores), libpython kept, the wheel retagged to the lowest API level it supports; and auditwheel
6.8.2's repair of its own NDK-built wheel, compared."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.elf import ElfFile, parse_elf
from tests.fixtures.android.build import Case
from tests.fixtures.android.cases import AUDITWHEEL_LDPATHS, AUDITWHEEL_SPAM, android_cases
from tests.harness.availability import skip_or_fail

__all__ = ["android_cases"]  # the fixture, imported for pytest

BIN = Path(sys.executable).parent


def _repair(wheel: Path, out: Path, libdir: Path, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    environ = {"AUDITWHEEL_LD_LIBRARY_PATH": str(libdir), "PATH": f"{BIN}:/usr/bin:/bin"}
    code = main(["repair", "-w", str(out), *args, str(wheel)], stdout=io.StringIO(),
                stderr=err, environ=environ)  # fmt: skip
    return code, err.getvalue()


def _elves(wheel: Path) -> dict[str, ElfFile]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: parse_elf(archive.read(name), name=name)
            for name in archive.namelist()
            if name.endswith(".so")
        }


def _tag_lines(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/WHEEL")]
        text = archive.read(name).decode()
    return [line for line in text.splitlines() if line.startswith("Tag:")]


def test_graft_is_found_through_runpath(android_cases: dict[str, Case], tmp_path: Path) -> None:
    case = android_cases["graft"]
    abi = case.wheel.name.rsplit("android_21_", 1)[1].removesuffix(".whl")
    assert _repair(case.wheel, tmp_path, case.libdir) == (0, "")
    (made,) = tmp_path.glob("*.whl")
    # grafting takes DT_RUNPATH, which Bionic reads from API 24 on: retagged up from 21
    assert made.name == f"usesfoo-1.0-cp313-cp313-android_24_{abi}.whl"
    assert _tag_lines(made) == [f"Tag: cp313-cp313-android_24_{abi}"]
    elves = _elves(made)
    (ext_name,) = [n for n in elves if n.startswith("usesfoo.cpython")]
    (lib_name,) = [n for n in elves if n.startswith("usesfoo.libs/")]
    ext, lib = elves[ext_name], elves[lib_name]
    assert (ext.runpath, ext.rpath) == (("$ORIGIN/usesfoo.libs",), ())
    assert lib_name.rsplit("/", 1)[1] in ext.needed
    assert "libpython3.13.so" in ext.needed  # kept: the app has loaded it
    assert lib.soname == lib_name.rsplit("/", 1)[1]
    assert lib.android is not None and lib.android.api_level == 24
    # the repaired wheel needs nothing from outside: audited afresh, android_24 as it is
    out = io.StringIO()
    assert main(["show", "--json", str(made)], stdout=out, stderr=io.StringIO(), environ={}) == 0
    assert f'"overall_tag": "android_24_{abi}"' in out.getvalue()


def test_wheel_is_retagged_to_its_lowest_level(
    android_cases: dict[str, Case], tmp_path: Path
) -> None:
    case = android_cases["built-lower"]
    assert _repair(case.wheel, tmp_path, case.libdir) == (0, "")
    (made,) = tmp_path.glob("*.whl")
    assert "-android_21_" in made.name and "android_24" not in made.name
    assert len(_tag_lines(made)) == 1  # one Android tag, as PEP 738 wheels have


def test_no_graft_below_api_24(android_cases: dict[str, Case], tmp_path: Path) -> None:
    case = android_cases["graft"]
    abi = case.wheel.name.rsplit("android_21_", 1)[1].removesuffix(".whl")
    code, err = _repair(case.wheel, tmp_path, case.libdir, "--plat", f"android_21_{abi}")
    assert code == 2
    assert "DT_RUNPATH, which Bionic reads from API 24 on" in err
    assert list(tmp_path.iterdir()) == []


def test_any_api_level_can_be_asked_for(android_cases: dict[str, Case], tmp_path: Path) -> None:
    """android_25 is listed nowhere: it is android_24's libraries under its own name."""
    case = android_cases["graft"]
    abi = case.wheel.name.rsplit("android_21_", 1)[1].removesuffix(".whl")
    args = ("--plat", f"android_25_{abi}", "--only-plat")
    assert _repair(case.wheel, tmp_path, case.libdir, *args) == (0, "")
    (made,) = tmp_path.glob("*.whl")
    assert made.name.endswith(f"-android_25_{abi}.whl")


@pytest.mark.slow
def test_ndk_built_wheel_repaired_as_auditwheel_does(tmp_path: Path) -> None:
    """The same wheel name, grafted name (auditwheel's hash), NEEDED, SONAME, RUNPATH and
    RPATH of every file."""
    if shutil.which("auditwheel", path=str(BIN)) is None:
        skip_or_fail("auditwheel 6.8.2 is not installed in the test environment (test group)")
    libdir = AUDITWHEEL_LDPATHS / "env"
    theirs_dir, ours_dir = tmp_path / "auditwheel", tmp_path / "manywheel"
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "AUDITWHEEL_LD_LIBRARY_PATH": str(libdir),
        "HOME": os.environ.get("HOME", "/root"),
    }
    done = subprocess.run(
        [str(BIN / "auditwheel"), "repair", "-w", str(theirs_dir), str(AUDITWHEEL_SPAM)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert _repair(AUDITWHEEL_SPAM, ours_dir, libdir) == (0, "")
    (theirs,), (ours,) = theirs_dir.glob("*.whl"), ours_dir.glob("*.whl")
    assert ours.name == theirs.name == AUDITWHEEL_SPAM.name
    mine, reference = _elves(ours), _elves(theirs)
    assert sorted(mine) == sorted(reference)
    for name, elf in mine.items():
        for field in ("needed", "soname", "runpath", "rpath"):
            assert getattr(elf, field) == getattr(reference[name], field), (name, field)
    assert mine["spam.cpython-313-aarch64-linux-android.so"].runpath == ("$ORIGIN/spam.libs",)
