"""The aggregates the one parse walk computes (Python init functions, undefined imports) agree
with a symbol-by-symbol reading of the same table, on system libraries and the fixtures. The
walk selects indices at C speed; this is the slow, obvious definition it must match."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.elf import ElfFile, SymbolBinding, SymbolType, read_elf
from manywheel.elf.symbols import INIT_PREFIXES
from tests.elf.conftest import system_libraries

_FILES = system_libraries(150)


def _init_names(elf: ElfFile) -> list[str]:
    return sorted(
        s.name
        for s in elf.symbols
        if s.shndx != 0 and s.type == SymbolType.FUNC and s.name.startswith(INIT_PREFIXES)
    )


def _imports(elf: ElfFile) -> set[tuple[str, str | None]]:
    return {
        (s.name, s.version)
        for s in elf.symbols
        if s.shndx == 0 and s.binding != SymbolBinding.LOCAL and s.name
    }


@pytest.mark.parametrize("path", _FILES, ids=[p.name for p in _FILES])
def test_aggregates_match_a_symbol_by_symbol_reading(path: Path) -> None:
    elf = read_elf(path)
    assert sorted(elf.symbols.python_init_names) == _init_names(elf)
    grouped = {(name, g.version) for g in elf.imports for name in g.names}
    assert grouped == _imports(elf)


def test_the_sample_has_init_functions() -> None:
    """The comparison above is not vacuous: some sampled libraries define ``init*``."""
    assert any(read_elf(p).symbols.python_init_names for p in _FILES)


_SOURCE = """
int init_table[4];                   /* an object, not a function: not an init function */
extern void initelsewhere(void);     /* undefined: not defined here */
void PyInit_demo(void) { initelsewhere(); }
void initdemo(void) {}
static void initlocal(void) {}       /* local: not exported */
void *keep = (void *)initlocal;
"""


def test_only_defined_functions_count(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build this fixture (scripts/bootstrap installs it)")
    source = tmp_path / "demo.c"
    source.write_text(_SOURCE)
    library = tmp_path / "demo.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True
    )  # fmt: skip
    elf = read_elf(library)
    assert sorted(elf.symbols.python_init_names) == ["PyInit_demo", "initdemo"]
    assert sorted(elf.symbols.python_init_names) == _init_names(elf)
    assert ("initelsewhere", None) in _imports(elf)
