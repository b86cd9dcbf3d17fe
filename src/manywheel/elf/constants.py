"""ELF constants as ``IntEnum``s (gABI, GNU extensions, psABI flags).

Raw values that no enum member names stay plain ``int`` in the values; typed accessors
(``ElfHeader.machine``, ``Symbol.binding`` ...) return ``None`` for them.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "DynamicTag",
    "ElfClass",
    "ElfData",
    "ElfType",
    "Machine",
    "NoteType",
    "SegmentFlag",
    "SegmentType",
    "SymbolBinding",
    "SymbolType",
    "SymbolVisibility",
    "X86IsaLevel",
]


class ElfClass(IntEnum):
    ELF32 = 1
    ELF64 = 2


class ElfData(IntEnum):
    LSB = 1
    MSB = 2


class ElfType(IntEnum):
    NONE = 0
    REL = 1
    EXEC = 2
    DYN = 3
    CORE = 4


class Machine(IntEnum):
    I386 = 3
    MIPS = 8
    PPC = 20
    PPC64 = 21
    S390 = 22
    ARM = 40
    SPARCV9 = 43
    IA_64 = 50
    X86_64 = 62
    AARCH64 = 183
    RISCV = 243
    LOONGARCH = 258


class SegmentType(IntEnum):
    NULL = 0
    LOAD = 1
    DYNAMIC = 2
    INTERP = 3
    NOTE = 4
    SHLIB = 5
    PHDR = 6
    TLS = 7
    GNU_EH_FRAME = 0x6474E550
    GNU_STACK = 0x6474E551
    GNU_RELRO = 0x6474E552
    GNU_PROPERTY = 0x6474E553


class SegmentFlag(IntFlag):
    X = 1
    W = 2
    R = 4


class DynamicTag(IntEnum):
    NULL = 0
    NEEDED = 1
    HASH = 4
    STRTAB = 5
    SYMTAB = 6
    STRSZ = 10
    SYMENT = 11
    SONAME = 14
    RPATH = 15
    RUNPATH = 29
    FLAGS = 30
    FLAGS_1 = 0x6FFFFFFB
    GNU_HASH = 0x6FFFFEF5
    VERSYM = 0x6FFFFFF0
    VERDEF = 0x6FFFFFFC
    VERDEFNUM = 0x6FFFFFFD
    VERNEED = 0x6FFFFFFE
    VERNEEDNUM = 0x6FFFFFFF


class SymbolBinding(IntEnum):
    LOCAL = 0
    GLOBAL = 1
    WEAK = 2
    GNU_UNIQUE = 10


class SymbolType(IntEnum):
    NOTYPE = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    COMMON = 5
    TLS = 6
    GNU_IFUNC = 10


class SymbolVisibility(IntEnum):
    DEFAULT = 0
    INTERNAL = 1
    HIDDEN = 2
    PROTECTED = 3


class NoteType(IntEnum):
    """Note types in the ``GNU`` namespace."""

    GNU_ABI_TAG = 1
    GNU_BUILD_ID = 3
    GNU_PROPERTY_TYPE_0 = 5


class X86IsaLevel(IntEnum):
    """x86-64 micro-architecture levels (psABI); a GNU property note's ISA-needed bits."""

    BASELINE = 1
    V2 = 2
    V3 = 3
    V4 = 4
