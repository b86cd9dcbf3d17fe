"""RPATH hygiene: entries that lead outside the wheel (a build machine's directories) leave every
ELF file of the repaired wheel, not only those a graft patches; entries inside the wheel and
entries the user keeps on purpose stay, and a RUNPATH stays a RUNPATH."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from manywheel.elf import parse_elf
from tests.harness.fixtures import SdistWheelBuilder
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives


def _member(wheel: Path, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    with zipfile.ZipFile(wheel) as z:
        elf = parse_elf(z.read(name), name=name)
    return elf.rpath, elf.runpath


@pytest.fixture(scope="module")
def dirty_wheel(natives: Natives) -> Path:
    """An extension needing nothing external, with RUNPATH: a build directory, then $ORIGIN."""
    ext = natives.extension(
        "dirty", "", [], extra=["-Wl,--enable-new-dtags,-rpath,/home/builder/build/lib:$ORIGIN/x"]
    )
    assert parse_elf(ext).runpath == ("/home/builder/build/lib", "$ORIGIN/x")
    return natives.wheel("dirty", {"pkg/dirty.so": ext})


def test_foreign_entries_are_removed_and_runpath_stays_runpath(
    repair: Repair, dirty_wheel: Path
) -> None:
    result = repair(dirty_wheel)
    assert _member(result.output, "pkg/dirty.so") == ((), ("$ORIGIN/x",))


def test_entries_can_be_kept_on_purpose(repair: Repair, dirty_wheel: Path) -> None:
    result = repair(dirty_wheel, keep_rpaths=("/home/builder/*",))
    assert result.plan is not None and result.plan.patches == ()
    assert _member(result.output, "pkg/dirty.so")[1] == ("/home/builder/build/lib", "$ORIGIN/x")


def test_auditwheel_behaviour_on_request(repair: Repair, dirty_wheel: Path) -> None:
    result = repair(dirty_wheel, clean_rpaths=False)
    assert _member(result.output, "pkg/dirty.so")[1] == ("/home/builder/build/lib", "$ORIGIN/x")


def test_only_foreign_entries_go_the_whole_tag(repair: Repair, natives: Natives) -> None:
    ext = natives.extension("onlyforeign", "", [], extra=["-Wl,-rpath,/opt/build/lib"])
    result = repair(natives.wheel("onlyforeign", {"onlyforeign.so": ext}))
    assert _member(result.output, "onlyforeign.so") == ((), ())


@pytest.mark.slow
def test_real_sdist_extension_loses_the_build_interpreters_runpath(
    sdist_wheel: SdistWheelBuilder, repair: Repair
) -> None:
    """pyenv's Pythons put ``-rpath <their lib dir>`` in every extension they build."""
    wheel = sdist_wheel("pyyaml", python="3.11")
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.startswith("yaml/_yaml") and n.endswith(".so")]
    before = _member(wheel, name)
    if not any(e.startswith("/") for e in before[0] + before[1]):
        pytest.skip(f"this interpreter leaves no absolute RPATH in extensions ({before})")
    result = repair(wheel)
    rpath, runpath = _member(result.output, name)
    assert all(e.startswith("$ORIGIN") for e in rpath + runpath), (rpath, runpath)
