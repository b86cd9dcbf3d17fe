"""A library with 100,000 dynamic symbols (half imported with versions, half exported with
versions) parses without a Python function call per symbol: the tables are unpacked whole
(``struct.iter_unpack``) and no object is made per symbol, so the Python calls a parse makes do
not grow with the symbols. They are counted, not timed (``benchmarks/bench_elf.py`` measures
the time)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.elf import ElfFile, ImportGroup, read_elf, read_elf_stream
from tests.harness.work import counted

HALF = 50_000
#: Python function calls a parse of the 100,000-symbol library may make (about 300 today): a
#: per-symbol object design makes at least one per symbol.
CALL_LIMIT = 5_000


def _write_asm(path: Path, prefix: str, *, define: bool, refer: str | None) -> None:
    lines = [".text"]
    if define:
        for i in range(HALF):
            name = f"{prefix}_{i}"
            lines += [f".globl {name}", f".type {name},@function", f"{name}:", " ret"]
    if refer is not None:
        lines.append(".data")
        lines += [f" .quad {refer}_{i}" for i in range(HALF)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def many_symbols(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("many")
    base_s, many_s = out / "base.s", out / "many.s"
    _write_asm(base_s, "base_sym", define=True, refer=None)
    _write_asm(many_s, "own_sym", define=True, refer="base_sym")
    (out / "base.map").write_text("BASE_1 { global: *; };\n")
    (out / "many.map").write_text("MANY_1 { global: own_sym_*; local: *; };\n")
    base = out / "libmanybase.so"
    cc = ["gcc", "-shared", "-nostdlib", "-Wl,--hash-style=gnu"]
    subprocess.run(
        [
            *cc,
            "-o",
            str(base),
            str(base_s),
            f"-Wl,--version-script={out / 'base.map'}",
            "-Wl,-soname,libmanybase.so",
        ],
        check=True,
    )
    many = out / "libmany.so"
    subprocess.run(
        [
            *cc,
            "-o",
            str(many),
            str(many_s),
            str(base),
            "-Wl,-s",
            f"-Wl,--version-script={out / 'many.map'}",
        ],
        check=True,
    )
    return many


def _facts(elf: ElfFile) -> tuple[int, tuple[ImportGroup, ...]]:
    return len(elf.symbols), elf.imports


def test_100k_symbols_parse_without_work_per_symbol(many_symbols: Path) -> None:
    (count, imports), calls = counted(lambda: _facts(read_elf(many_symbols)), c_calls=False)
    assert count > 2 * HALF
    [group] = [g for g in imports if g.version == "BASE_1"]
    assert (group.library, len(group.names)) == ("libmanybase.so", HALF)
    assert calls < CALL_LIMIT


def test_100k_symbols_stream(many_symbols: Path) -> None:
    size = many_symbols.stat().st_size
    with many_symbols.open("rb") as f:
        (_, imports), calls = counted(
            lambda: _facts(read_elf_stream(f, size=size, name=str(many_symbols))), c_calls=False
        )
    assert imports == read_elf(many_symbols).imports
    assert calls < CALL_LIMIT
