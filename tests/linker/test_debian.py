"""Debian's own programs and libraries: the resolver chooses what the real loader chooses."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.errors import InvalidElfError
from manywheel.linker import Resolver, ResolverCache, RootFileSystem, SearchSettings

from .oracle import emulated, emulated_failures, run_loader

SAMPLE_SIZE = 60
_ELF_MAGIC = b"\x7fELF"


def _is_dynamic_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(20)
    except OSError:
        return False
    # ELF64 little-endian x86-64 (e_machine 62) shared object or PIE (e_type 3).
    return head[:4] == _ELF_MAGIC and head[4] == 2 and head[16] == 3 and head[18] == 62


def _sample() -> list[Path]:
    """A deterministic spread over /usr/bin, /usr/lib/x86_64-linux-gnu and Python's extension
    modules (Debian's, and those of any pyenv Python: they carry an absolute RUNPATH)."""
    picked: list[Path] = []
    extensions = sorted(Path("/usr/lib").glob("python3*/lib-dynload"))
    extensions += sorted(Path("/root/.pyenv/versions").glob("*/lib/python3*/lib-dynload"))[:1]
    for directory in (Path("/usr/bin"), Path("/usr/lib/x86_64-linux-gnu"), *extensions):
        if not directory.is_dir():
            continue
        files = sorted(
            p
            for p in directory.iterdir()
            if p.is_file() and not p.is_symlink() and p.stat().st_mode & 0o4000 == 0
        )
        elves = [p for p in files if _is_dynamic_elf(p)]
        step = max(1, len(elves) // (SAMPLE_SIZE // 2))
        picked.extend(elves[::step][: SAMPLE_SIZE // 2])
    return picked


SAMPLE = _sample()


@pytest.fixture(scope="module")
def cache() -> ResolverCache:
    return ResolverCache(RootFileSystem("/"))


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.name)
def test_debian_file(path: Path, cache: ResolverCache, host_settings: SearchSettings) -> None:
    try:
        tree = Resolver(cache=cache, settings=host_settings).resolve(str(path))
    except InvalidElfError:
        pytest.skip("not an ELF file the reader accepts")
    report = run_loader(str(path))
    assert emulated(tree) == report.chosen  # both empty for a file that needs nothing
    assert emulated_failures(tree) == report.version_failures


def test_the_sample_is_big_enough() -> None:
    assert len(SAMPLE) >= 40
