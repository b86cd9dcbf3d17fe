"""Bionic's search rules, emulated, on gcc-built Bionic files in a made-up Android root:
LD_LIBRARY_PATH, then the requester's own DT_RUNPATH (never inherited; DT_RPATH ignored), then
/system/lib64 and friends; the platform's libraries when no file answers; no skipping of a file
that does not fit."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from manywheel.elf import read_elf
from manywheel.linker import (
    Flavor,
    Resolver,
    RootFileSystem,
    Rule,
    SearchSettings,
    detect_flavor,
    is_platform_library,
)
from manywheel.policy import load_policies
from tests.fixtures.android.build import ABIS, Builder
from tests.harness.availability import skip_or_fail


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Android-like root: /system/lib64/libc.so..., an app directory with libraries."""
    if shutil.which("gcc") is None:
        skip_or_fail("gcc is not installed (scripts/bootstrap installs it)")
    top = tmp_path_factory.mktemp("bionic")
    b = Builder(ABIS["x86_64"], top / "work")
    b.stubs()
    system = top / "root" / "system" / "lib64"
    system.mkdir(parents=True)
    for name in ("libc.so", "libm.so", "libdl.so", "liblog.so"):
        shutil.copy(b.sysroot / name, system / name)
    app = top / "root" / "app"
    (app / "deep").mkdir(parents=True)
    (app / "libs").mkdir()
    (app / "other").mkdir()
    b.library("libleaf.so", "void leaf(void) {}", directory=app / "libs", level=24)
    b.library("libleaf.so", "void leaf(void) {}", directory=app / "other", level=24)
    # needs libleaf.so and has no RUNPATH of its own: the loader of libmid must not lend it one
    b.library("libmid.so", "void leaf(void);\nvoid mid(void) { leaf(); }", directory=app / "libs",
              links=("-l:libleaf.so",), level=24)  # fmt: skip
    for name, flags in (
        ("runpath", ("-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/libs")),
        ("rpath", ("-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/libs")),
        ("lib-token", ("-Wl,--enable-new-dtags", "-Wl,-rpath,/system/$LIB")),
        ("relative", ("-Wl,--enable-new-dtags", "-Wl,-rpath,libs")),
    ):
        body = "void mid(void); void __android_log_write(void); void strlen(void);\n"
        body += "void top(void) { mid(); __android_log_write(); strlen(); }"
        links = (f"-L{app / 'libs'}", "-l:libmid.so", "-l:liblog.so", "-l:libc.so")
        b.library(f"lib{name}.so", body, directory=app, flags=flags, level=24, links=links)
    return top / "root"


def _needed(root: Path, path: str, **settings: object) -> dict[str, tuple[Rule | None, str | None]]:
    tree = Resolver(RootFileSystem(str(root)), SearchSettings(**settings)).resolve(path)  # type: ignore[arg-type]
    assert tree.flavor is Flavor.BIONIC
    return {r.name: (r.rule, r.path) for obj in tree.objects for r in obj.needed}


def test_runpath_is_the_requesters_own(root: Path) -> None:
    found = _needed(root, "/app/librunpath.so")
    assert found["libmid.so"] == (Rule.RUNPATH, "/app/libs/libmid.so")
    assert found["liblog.so"] == (Rule.DEFAULT_DIRS, "/system/lib64/liblog.so")
    # libmid.so has no RUNPATH: glibc would lend it its loader's DT_RPATH, Bionic never
    assert found["libleaf.so"] == (None, None)


def test_rpath_is_ignored(root: Path) -> None:
    assert _needed(root, "/app/librpath.so")["libmid.so"] == (None, None)


def test_ld_library_path_comes_first(root: Path) -> None:
    found = _needed(root, "/app/librunpath.so", ld_library_path=("/app/other", "relative"))
    assert found["libleaf.so"] == (Rule.LD_LIBRARY_PATH, "/app/other/libleaf.so")


def test_tokens_and_relative_entries(root: Path) -> None:
    assert _needed(root, "/app/liblib-token.so")["liblog.so"][0] is Rule.RUNPATH
    assert _needed(root, "/app/librelative.so")["libmid.so"] == (None, None)


def test_platform_libraries_without_a_file(tmp_path: Path, root: Path) -> None:
    shutil.copytree(root / "app", tmp_path / "app")
    found = _needed(tmp_path, "/app/librunpath.so")
    assert found["liblog.so"] == (Rule.PLATFORM, None)
    assert found["libleaf.so"] == (None, None)  # not a platform library


def test_ldpaths_replace_the_system_dirs(root: Path) -> None:
    found = _needed(root, "/app/librunpath.so", system_ldpaths=("/app/other",))
    assert found["liblog.so"] == (Rule.PLATFORM, None)
    assert found["libleaf.so"] == (Rule.EXTRA_LDPATHS, "/app/other/libleaf.so")


def test_first_file_found_is_final(root: Path, tmp_path: Path) -> None:
    """A file of the wrong machine first on the path is an error, not skipped (as musl)."""
    shutil.copytree(root, tmp_path / "r", symlinks=True)
    wrong = tmp_path / "r" / "first"
    wrong.mkdir()
    shutil.copy("/bin/true", wrong / "liblog.so")  # an executable: not ET_DYN
    tree = Resolver(RootFileSystem(str(tmp_path / "r")), SearchSettings(
        ld_library_path=("/first",))).resolve("/app/librunpath.so")  # fmt: skip
    (log,) = [r for r in tree.root.needed if r.name == "liblog.so"]
    assert (log.path, log.rule) == (None, None)
    assert log.error is not None


def test_every_whitelisted_library_is_a_platform_library() -> None:
    android = [p for p in load_policies() if p.api_level is not None]
    assert len(android) == 4
    assert all(is_platform_library(lib) for p in android for lib in p.lib_whitelist)
    assert is_platform_library("libpython3.13.so") and not is_platform_library("libfoo.so")


def test_bionic_is_told_by_note_or_versions(root: Path) -> None:
    """The ident note, or a LIBC version needed from libc.so (musl's libc.so has none: the musl
    tests keep musl files musl)."""
    noted = read_elf(root / "app" / "librunpath.so")
    assert noted.android is not None and detect_flavor(noted) is Flavor.BIONIC
    versioned = replace(noted, android=None)
    assert detect_flavor(versioned) is Flavor.BIONIC
    assert detect_flavor(replace(versioned, version_needs=())) is Flavor.MUSL  # libc.so alone
