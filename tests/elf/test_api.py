"""The public API other packages code against (the contract in the ELF issue), pinned."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import manywheel.elf as elf_api
from manywheel.elf import (
    ElfClass,
    ElfData,
    ElfFile,
    ElfHeader,
    ElfType,
    Machine,
    VersionDefinition,
    VersionNeed,
    VersionNeedEntry,
    X86IsaLevel,
    read_elf,
)
from tests.elf.conftest import CROSS


def test_enum_values() -> None:
    assert (ElfClass.ELF32, ElfClass.ELF64) == (1, 2)
    assert (ElfData.LSB, ElfData.MSB) == (1, 2)
    assert (ElfType.REL, ElfType.EXEC, ElfType.DYN, ElfType.CORE) == (1, 2, 3, 4)
    assert (Machine.I386, Machine.ARM, Machine.X86_64, Machine.AARCH64) == (3, 40, 62, 183)
    assert (Machine.PPC, Machine.PPC64, Machine.S390, Machine.RISCV) == (20, 21, 22, 243)
    assert int(Machine.LOONGARCH) == 258
    assert [int(x) for x in X86IsaLevel] == [1, 2, 3, 4]


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_value_fields() -> None:
    assert _fields(ElfHeader) == [
        "elf_class",
        "data",
        "osabi",
        "abi_version",
        "e_type",
        "e_machine",
        "flags",
        "entry",
    ]
    assert _fields(VersionNeedEntry) == ["name", "flags", "index", "hash"]
    assert _fields(VersionNeed) == ["file", "entries"]
    assert _fields(VersionDefinition)[:4] == ["name", "index", "flags", "parents"]
    assert _fields(ElfFile)[:12] == [
        "name",
        "header",
        "arch",
        "interpreter",
        "needed",
        "soname",
        "rpath",
        "runpath",
        "flags",
        "flags_1",
        "version_needs",
        "version_definitions",
    ]


def test_values_are_frozen_slotted_and_hashable() -> None:
    elf = read_elf(CROSS / "i686" / "libuser.so")
    values: list[object] = [elf, elf.header, elf.version_needs[0], elf.symbols[1], elf.imports[0]]
    for value in values:
        assert getattr(type(value), "__dataclass_params__").frozen  # noqa: B009
        assert hasattr(type(value), "__slots__")
    assert hash(elf) == hash(read_elf(CROSS / "i686" / "libuser.so"))


def test_reader_signatures() -> None:
    assert list(inspect.signature(elf_api.read_elf).parameters) == ["path"]
    assert list(inspect.signature(elf_api.parse_elf).parameters) == ["data", "name"]
    params = inspect.signature(elf_api.read_elf_stream).parameters
    assert list(params)[:4] == ["stream", "size", "name", "reopen"]
    assert isinstance(read_elf(Path(CROSS / "s390x" / "libuser.so")), ElfFile)
