"""pyelftools as a second oracle: dynamic entries, version needs and definitions, and per-symbol
versions, on the fixtures of every architecture and a sample of system libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection

from manywheel.elf import ElfFile, read_elf
from tests.elf.conftest import cross_files, system_libraries


def _pyelftools_facts(path: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {"needed": [], "soname": None, "rpath": None, "runpath": None}
    with path.open("rb") as f:
        elf: Any = ELFFile(f)  # pyelftools' partial annotations do not cover tag attributes
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                tags: list[Any] = list(section.iter_tags())
                for tag in tags:
                    if tag.entry.d_tag == "DT_NEEDED":
                        facts["needed"].append(tag.needed)
                    elif tag.entry.d_tag == "DT_SONAME":
                        facts["soname"] = tag.soname
                    elif tag.entry.d_tag == "DT_RPATH":
                        facts["rpath"] = tag.rpath
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        facts["runpath"] = tag.runpath
            elif isinstance(section, GNUVerNeedSection):
                facts["needs"] = [
                    (v.name, [(a.name, a["vna_flags"], a["vna_other"] & 0x7FFF) for a in auxes])
                    for v, auxes in section.iter_versions()
                ]
            elif isinstance(section, GNUVerDefSection):
                facts["defs"] = [
                    (next(iter(auxes)).name, v["vd_ndx"], v["vd_flags"])
                    for v, auxes in ((v, list(a)) for v, a in section.iter_versions())
                ]
            elif isinstance(section, GNUVerSymSection):
                facts["versym"] = [s["ndx"] for s in section.iter_symbols()]
        dynsym = elf.get_section_by_name(".dynsym")
        facts["names"] = [s.name for s in dynsym.iter_symbols()] if dynsym else []
    return facts


def _versym_index(raw: object) -> int:
    if isinstance(raw, int):
        return raw & 0x7FFF
    return {"VER_NDX_LOCAL": 0, "VER_NDX_GLOBAL": 1}[str(raw)]


def _compare(ours: ElfFile, theirs: dict[str, Any]) -> None:
    assert list(ours.needed) == theirs["needed"]
    assert ours.soname == theirs["soname"]
    assert (":".join(ours.rpath) or None) == theirs["rpath"]
    assert (":".join(ours.runpath) or None) == theirs["runpath"]
    needs = [(n.file, [(e.name, e.flags, e.index) for e in n.entries]) for n in ours.version_needs]
    assert needs == theirs.get("needs", [])
    defs = [(d.name, d.index, d.flags) for d in ours.version_definitions]
    assert defs == theirs.get("defs", [])
    assert list(ours.symbols.names) == theirs["names"]
    if "versym" in theirs:
        ours_versym = [ours.symbols.raw_version(i) & 0x7FFF for i in range(len(ours.symbols))]
        assert ours_versym == [_versym_index(v) for v in theirs["versym"]]


PATHS = [p for p in cross_files() if "noshdr" not in p.name]


@pytest.mark.parametrize("path", PATHS, ids=[f"{p.parent.name}/{p.name}" for p in PATHS])
def test_cross_fixtures_match_pyelftools(path: Path) -> None:
    _compare(read_elf(path), _pyelftools_facts(path))


def test_host_fixtures_match_pyelftools(host_fixtures: dict[str, Path]) -> None:
    for name, path in sorted(host_fixtures.items()):
        if "noshdr" not in name:
            _compare(read_elf(path), _pyelftools_facts(path))


def test_system_sample_matches_pyelftools() -> None:
    paths = [p for p in system_libraries(400) if p.stat().st_size < 4 * 2**20][::10]
    assert len(paths) >= 20
    for path in paths:
        _compare(read_elf(path), _pyelftools_facts(path))
