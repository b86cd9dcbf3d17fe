"""What the reader says about fixtures whose facts we know because we built them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from manywheel.elf import (
    ElfClass,
    ElfData,
    ElfType,
    Machine,
    SegmentType,
    SymbolBinding,
    SymbolType,
    SymbolVisibility,
    X86IsaLevel,
    parse_elf,
    read_elf,
)
from tests.elf.conftest import CROSS


def test_provider_library(host_fixtures: dict[str, Path]) -> None:
    elf = read_elf(host_fixtures["libbase.so"])
    assert elf.soname == "libbase.so.1"
    assert elf.needed == ()
    assert elf.header.elf_class == ElfClass.ELF64
    assert elf.header.data == ElfData.LSB
    assert elf.header.type == ElfType.DYN
    assert elf.header.machine == Machine.X86_64
    assert elf.arch == "x86_64"
    defs = {d.name: d for d in elf.version_definitions}
    assert defs["libbase.so.1"].is_base
    assert defs["BASE_2.0"].parents == ("BASE_1.0",)
    assert defs["BASE_3.0"].parents == ("BASE_2.0",)
    assert not defs["BASE_1.0"].is_base
    olds = [s for s in elf.symbols if s.name == "base_old"]
    assert {(s.version, s.version_hidden) for s in olds} == {
        ("BASE_1.0", True),
        ("BASE_2.0", False),
    }
    assert all(s.defined and s.version_file is None for s in olds)


def test_consumer_library(host_fixtures: dict[str, Path]) -> None:
    elf = read_elf(host_fixtures["libuser.so"])
    assert elf.soname == "libuser.so"
    assert elf.needed == ("libbase.so.1",)
    assert elf.rpath == ("$ORIGIN/../lib", "/opt/fixture")
    assert elf.runpath == ()
    [need] = elf.version_needs
    assert need.file == "libbase.so.1"
    assert {e.name for e in need.entries} == {"BASE_1.0", "BASE_2.0", "BASE_3.0"}
    assert not any(e.weak for e in need.entries)
    groups = {(g.library, g.version): g for g in elf.imports}
    assert groups["libbase.so.1", "BASE_2.0"].names == ("base_new", "base_old")
    assert groups["libbase.so.1", "BASE_1.0"].names == ("base_data",)
    assert groups["libbase.so.1", "BASE_3.0"].weak_names == ("base_extra",)
    assert groups[None, None].names == ("unversioned_fn", "weak_fn")
    assert groups[None, None].weak_names == ("weak_fn",)
    weak = next(s for s in elf.symbols if s.name == "weak_fn")
    assert (weak.binding, weak.defined, weak.version) == (SymbolBinding.WEAK, False, None)
    user_fn = next(s for s in elf.symbols if s.name == "user_fn")
    assert (user_fn.type, user_fn.binding) == (SymbolType.FUNC, SymbolBinding.GLOBAL)
    assert user_fn.visibility == SymbolVisibility.DEFAULT
    assert user_fn.defined and user_fn.size > 0
    assert elf.python_extension() is None


def test_runpath_without_soname(host_fixtures: dict[str, Path]) -> None:
    elf = read_elf(host_fixtures["librunpath.so"])
    assert elf.soname is None
    assert elf.runpath == ("$ORIGIN",)
    assert elf.rpath == ()


def test_executable_with_interpreter(host_fixtures: dict[str, Path]) -> None:
    elf = read_elf(host_fixtures["prog"])
    assert elf.interpreter == "/lib/ld-fixture.so.1"
    assert elf.needed == ("libuser.so",)
    assert [s.name for s in elf.symbols] == ["", "user_fn"]  # the count past an empty GNU hash


@pytest.mark.parametrize(
    ("name", "module", "init", "major"),
    [
        ("spam.so", "spam", "PyInit_spam", 3),
        ("legacy.so", "legacy", "initlegacy", 2),
        ("pypycffi.so", "pypycffi", "_cffi_pypyinit_pypycffi", 2),
    ],
    ids=["py3", "py2", "pypy-cffi"],
)
def test_python_extensions(
    host_fixtures: dict[str, Path], name: str, module: str, init: str, major: int
) -> None:
    elf = read_elf(host_fixtures[name])
    ext = elf.python_extension()
    assert ext is not None
    assert (ext.module, ext.init_symbol, ext.python_major) == (module, init, major)
    # the module name comes from the file name: renamed, it is no longer that module
    assert elf.python_extension("other.cpython-311-x86_64-linux-gnu.so") is None
    assert elf.python_extension(f"pkg/{module}.cpython-311-x86_64-linux-gnu.so") == ext
    assert elf.python_extension(f"/w/x-1.0-py3-none-any.whl:{module}.abi3.so") == ext


def test_pyfpe_and_ucs2_references(host_fixtures: dict[str, Path]) -> None:
    legacy = read_elf(host_fixtures["legacy.so"])
    assert legacy.symbols.pyfpe_names == ("PyFPE_jbuf",)
    assert legacy.symbols.ucs2_names == ("PyUnicodeUCS2_FromString",)
    spam = read_elf(host_fixtures["spam.so"])
    assert spam.symbols.pyfpe_names == spam.symbols.ucs2_names == ()


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("libuser.so", None),
        ("libisa-v2.so", X86IsaLevel.V2),
        ("libisa-v3.so", X86IsaLevel.V3),
        ("libisa-v4.so", X86IsaLevel.V4),
    ],
)
def test_x86_isa_level(host_fixtures: dict[str, Path], name: str, level: X86IsaLevel) -> None:
    assert read_elf(host_fixtures[name]).x86_isa_level == level


def test_system_libc_isa_baseline() -> None:
    libc = Path("/usr/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.exists():
        pytest.skip("no x86_64 glibc on this machine")
    elf = read_elf(libc)
    assert elf.x86_isa_level == X86IsaLevel.BASELINE
    assert elf.build_id is not None and len(elf.build_id) == 20


def test_exec_stack(host_fixtures: dict[str, Path]) -> None:
    assert read_elf(host_fixtures["libexecstack.so"]).executable_stack
    assert not read_elf(host_fixtures["libnoexecstack.so"]).executable_stack
    assert read_elf(host_fixtures["libexecstack.so"]).has_gnu_stack


def test_load_alignment(host_fixtures: dict[str, Path]) -> None:
    assert read_elf(host_fixtures["libpage64k.so"]).load_alignment == 0x10000
    assert read_elf(host_fixtures["libuser.so"]).load_alignment == 0x1000
    loads = [
        s for s in read_elf(host_fixtures["libuser.so"]).segments if s.type == SegmentType.LOAD
    ]
    assert any(s.executable for s in loads)


@pytest.mark.parametrize("hash_style", ["libsysvhash.so", "libgnuhash.so"])
def test_hash_styles_count_the_same_symbols(
    host_fixtures: dict[str, Path], hash_style: str
) -> None:
    """Without section headers the count comes from DT_HASH or DT_GNU_HASH alone."""
    from tests.fixtures.elf.build import remove_section_headers

    path = host_fixtures[hash_style]
    bare = remove_section_headers(path, path.with_suffix(".bare"))
    assert read_elf(bare).sections == ()
    assert read_elf(bare).symbols.names == read_elf(path).symbols.names
    assert len(read_elf(path).symbols) > 5


@pytest.mark.parametrize("stripped", ["libuser-stripped.so", "libuser-noshdr.so"])
def test_stripped_files_keep_every_dynamic_fact(
    host_fixtures: dict[str, Path], stripped: str
) -> None:
    full = read_elf(host_fixtures["libuser.so"])
    bare = read_elf(host_fixtures[stripped])
    if stripped.endswith("noshdr.so"):
        assert bare.sections == ()
    ignore = {"name": "", "sections": (), "symbols": None, "build_id": None}
    assert replace(bare, **ignore) == replace(full, **ignore)  # type: ignore[arg-type]
    assert bare.symbols.names == full.symbols.names
    assert list(bare.symbols) == list(full.symbols)


def test_bytes_and_path_agree(host_fixtures: dict[str, Path]) -> None:
    path = host_fixtures["libuser.so"]
    data = path.read_bytes()
    from_path = read_elf(path)
    for buffer in (data, bytearray(data), memoryview(data)):
        assert replace(parse_elf(buffer, name=str(path))) == from_path


ARCHES = {
    "aarch64": (Machine.AARCH64, ElfClass.ELF64, ElfData.LSB),
    "armv7l": (Machine.ARM, ElfClass.ELF32, ElfData.LSB),
    "i686": (Machine.I386, ElfClass.ELF32, ElfData.LSB),
    "ppc64le": (Machine.PPC64, ElfClass.ELF64, ElfData.LSB),
    "ppc64": (Machine.PPC64, ElfClass.ELF64, ElfData.MSB),
    "s390x": (Machine.S390, ElfClass.ELF64, ElfData.MSB),
    "riscv64": (Machine.RISCV, ElfClass.ELF64, ElfData.LSB),
    "loongarch64-synthetic": (Machine.LOONGARCH, ElfClass.ELF64, ElfData.LSB),
}


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_cross_architectures(arch: str) -> None:
    machine, elf_class, data = ARCHES[arch]
    user = read_elf(CROSS / arch / "libuser.so")
    assert (user.header.machine, user.header.elf_class, user.header.data) == (
        machine,
        elf_class,
        data,
    )
    assert user.arch == arch.removesuffix("-synthetic")
    assert user.needed == ("libbase.so.1",)
    assert user.rpath == ("$ORIGIN/../lib", "/opt/fixture")
    groups = {(g.library, g.version): g.names for g in user.imports}
    assert groups["libbase.so.1", "BASE_2.0"] == ("base_new", "base_old")
    noshdr = read_elf(CROSS / arch / "libuser-noshdr.so")
    assert noshdr.imports == user.imports
    assert noshdr.version_needs == user.version_needs
    assert read_elf(CROSS / arch / "spam.so").python_extension() is not None
    assert read_elf(CROSS / arch / "prog").interpreter == "/lib/ld-fixture.so.1"


def test_arm_float_abi_and_eabi_version() -> None:
    header = read_elf(CROSS / "armv7l" / "libuser.so").header
    assert header.arm_eabi_version == 5
    assert header.arm_hard_float
    soft = replace(header, flags=header.flags & ~0x400 | 0x200)
    assert not soft.arm_hard_float
    from manywheel.elf.headers import arch_of

    assert arch_of(soft) is None  # soft-float ARM is not armv7l
    x86 = read_elf(CROSS / "i686" / "libuser.so").header
    assert x86.arm_eabi_version is None and not x86.arm_hard_float
