"""manywheel.elf against GNU readelf: NEEDED, SONAME, RPATH, RUNPATH, version needs and
definitions, and every dynamic symbol's name and version."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from manywheel.elf import read_elf
from tests.elf.conftest import TORCH_WHEEL, cross_files, system_libraries
from tests.elf.readelf_oracle import ReadelfFacts, assert_matches_readelf, run_readelf

SYSTEM_SAMPLE = 250


def test_host_fixtures_match_readelf(host_fixtures: dict[str, Path]) -> None:
    paths = [p for name, p in sorted(host_fixtures.items()) if "noshdr" not in name]
    facts = run_readelf(paths)
    for path in paths:
        assert_matches_readelf(read_elf(path), facts[path])


CROSS = [p for p in cross_files() if "noshdr" not in p.name]


@pytest.mark.parametrize("path", CROSS, ids=[f"{p.parent.name}/{p.name}" for p in CROSS])
def test_cross_fixtures_match_readelf(path: Path) -> None:
    assert_matches_readelf(read_elf(path), run_readelf([path])[path])


def test_system_libraries_match_readelf() -> None:
    paths = system_libraries(SYSTEM_SAMPLE)
    assert len(paths) >= 200, f"only {len(paths)} ELF files found in the system directories"
    facts = run_readelf(paths)
    mismatched = [p for p in paths if not _matches(p, facts[p])]
    assert mismatched == []


def _matches(path: Path, facts: ReadelfFacts) -> bool:
    try:
        assert_matches_readelf(read_elf(path), facts)
    except AssertionError as e:
        print(f"{path}: {e}")
        return False
    return True


@pytest.mark.slow
def test_torch_wheel_members_match_readelf(tmp_path: Path) -> None:
    if not TORCH_WHEEL.exists():
        pytest.skip(f"{TORCH_WHEEL} is not on this machine")
    paths = []
    with zipfile.ZipFile(TORCH_WHEEL) as zf:
        for info in zf.infolist():
            if info.file_size > 40 * 2**20 or info.is_dir():
                continue
            with zf.open(info) as f:
                if f.read(4) != b"\x7fELF":
                    continue
            target = tmp_path / info.filename.replace("/", "__")
            target.write_bytes(zf.read(info))
            paths.append(target)
    assert len(paths) >= 10
    facts = run_readelf(paths)
    for path in paths:
        assert_matches_readelf(read_elf(path), facts[path])
