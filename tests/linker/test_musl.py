"""musl's rules against musl's own loader (``ld-musl-x86_64.so.1 --list``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.linker import Flavor, Resolver, RootFileSystem, Rule, SearchSettings
from tests.harness.availability import skip_or_fail

from .oracle import MUSL_LOADER, emulated, run_loader

PROGRAMS = ["inherit_exe", "origin_exe", "soname_reuse_exe", "wrong_class_exe"]


@pytest.fixture(scope="module")
def musl_bin(built: Path) -> Path:
    if not (built / "musl/bin").is_dir() or not Path(MUSL_LOADER).exists():
        skip_or_fail("needs musl-gcc and musl's loader (musl-tools)")
    return built / "musl/bin"


@pytest.mark.parametrize("program", PROGRAMS)
def test_same_choices_as_musls_loader(musl_bin: Path, program: str) -> None:
    path = str(musl_bin / program)
    tree = Resolver(RootFileSystem("/")).resolve(path)
    assert tree.flavor is Flavor.MUSL
    assert emulated(tree) == run_loader(path, musl=True).chosen
    assert tree.version_failures == ()  # musl does not check versions


def test_musl_inherits_runpath(musl_bin: Path, built: Path) -> None:
    tree = Resolver(RootFileSystem("/")).resolve(str(musl_bin / "inherit_exe"))
    libmy = next(r for o in tree.objects for r in o.needed if r.name == "libmy.so")
    assert (libmy.rule, libmy.path) == (Rule.RUNPATH, f"{built}/musl/a/libmy.so")
    assert libmy.entry_owner == str(musl_bin / "inherit_exe")


def test_musl_system_path_comes_from_its_path_file(tmp_path: Path, musl_bin: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "opt/musl").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "lib/ld-musl-x86_64.so.1").write_bytes(Path(MUSL_LOADER).resolve().read_bytes())
    (root / "etc/ld-musl-x86_64.path").write_text("/opt/musl\n")
    (root / "bin").mkdir()
    (root / "bin/prog").write_bytes((musl_bin / "origin_exe").read_bytes())
    (root / "opt/musl/libmo.so").write_bytes((musl_bin / "../lib/libmo.so").read_bytes())
    tree = Resolver(RootFileSystem(root), SearchSettings()).resolve("/bin/prog")
    libmo = next(r for r in tree.root.needed if r.name == "libmo.so")
    assert (libmo.rule, libmo.path) == (Rule.MUSL_PATH, "/opt/musl/libmo.so")
    libc = next(r for r in tree.root.needed if r.name == "libc.so")
    assert (libc.rule, libc.path) == (Rule.INTERPRETER, "/lib/ld-musl-x86_64.so.1")


def test_musl_does_not_skip_a_wrong_class_candidate(musl_bin: Path, built: Path) -> None:
    path = str(musl_bin / "wrong_class_exe")
    report = run_loader(path, musl=True)
    assert report.chosen["libmy.so"] is None  # "Error loading shared library libmy.so"
    libmy = Resolver(RootFileSystem("/")).resolve(path).root.needed[0]
    assert libmy.path is None
    assert libmy.error == f"{built}/musl/w32/libmy.so: wrong ELF class: ELFCLASS32"
