"""ELF constants, all in one place: ``IntEnum``s and ``IntFlag``s (gABI, GNU extensions, psABI
and Android notes), and the few masks and range bounds that are not enumerations.

Raw values that no enum member names stay plain ``int`` in the values; typed accessors
(``ElfHeader.machine``, ``Symbol.binding`` ...) return ``None`` for them. Code walking a big
table binds the ``int`` value of a member to a local name first (an enum member's attribute
lookup in a loop of 75,000 symbols shows).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "DT_ADDRRNGHI",
    "DT_ADDRRNGLO",
    "DT_HIPROC",
    "DT_LOOS",
    "DT_LOPROC",
    "VERSYM_HIDDEN",
    "VERSYM_INDEX",
    "AndroidNoteType",
    "ArmFlag",
    "DynamicFlag1",
    "DynamicTag",
    "ElfClass",
    "ElfData",
    "ElfType",
    "GnuProperty",
    "Machine",
    "NoteType",
    "OsAbi",
    "SectionFlag",
    "SectionIndex",
    "SectionType",
    "SegmentFlag",
    "SegmentType",
    "SymbolBinding",
    "SymbolType",
    "SymbolVisibility",
    "VersionFlag",
    "X86IsaLevel",
]


class ElfClass(IntEnum):
    ELF32 = 1
    ELF64 = 2


class ElfData(IntEnum):
    LSB = 1
    MSB = 2


class OsAbi(IntEnum):
    """``EI_OSABI`` (the gABI's values, and ARM's): glibc loads only ``SYSV`` and ``GNU``."""

    SYSV = 0
    HPUX = 1
    NETBSD = 2
    GNU = 3
    SOLARIS = 6
    AIX = 7
    IRIX = 8
    FREEBSD = 9
    TRU64 = 10
    MODESTO = 11
    OPENBSD = 12
    OPENVMS = 13
    NSK = 14
    AROS = 15
    FENIXOS = 16
    CLOUDABI = 17
    OPENVOS = 18
    ARM_AEABI = 64
    ARM = 97
    STANDALONE = 255


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


class ArmFlag(IntFlag):
    """``e_flags`` bits of 32-bit ARM (the EABI version and the float ABI)."""

    ABI_FLOAT_SOFT = 0x200
    ABI_FLOAT_HARD = 0x400
    EABI_MASK = 0xFF000000


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


class SectionType(IntEnum):
    NULL = 0
    PROGBITS = 1
    SYMTAB = 2
    STRTAB = 3
    RELA = 4
    HASH = 5
    DYNAMIC = 6
    NOTE = 7
    NOBITS = 8
    REL = 9
    DYNSYM = 11
    RELR = 19
    GNU_HASH = 0x6FFFFFF6
    GNU_VERDEF = 0x6FFFFFFD
    GNU_VERNEED = 0x6FFFFFFE
    GNU_VERSYM = 0x6FFFFFFF


class SectionFlag(IntFlag):
    WRITE = 0x1
    ALLOC = 0x2
    EXECINSTR = 0x4
    TLS = 0x400


class SectionIndex(IntEnum):
    """Special section indices (``st_shndx``, ``e_shstrndx``)."""

    UNDEF = 0
    ABS = 0xFFF1
    COMMON = 0xFFF2
    #: The real index is elsewhere (section 0's ``sh_link`` for ``e_shstrndx``).
    XINDEX = 0xFFFF


class DynamicTag(IntEnum):
    NULL = 0
    NEEDED = 1
    PLTGOT = 3
    HASH = 4
    STRTAB = 5
    SYMTAB = 6
    RELA = 7
    STRSZ = 10
    SYMENT = 11
    INIT = 12
    FINI = 13
    SONAME = 14
    RPATH = 15
    REL = 17
    DEBUG = 21
    JMPREL = 23
    INIT_ARRAY = 25
    FINI_ARRAY = 26
    RUNPATH = 29
    FLAGS = 30
    PREINIT_ARRAY = 32
    SYMTAB_SHNDX = 34
    RELR = 36
    GNU_PRELINKED = 0x6FFFFDF5
    GNU_CONFLICTSZ = 0x6FFFFDF6
    GNU_LIBLISTSZ = 0x6FFFFDF7
    CHECKSUM = 0x6FFFFDF8
    PLTPADSZ = 0x6FFFFDF9
    MOVEENT = 0x6FFFFDFA
    MOVESZ = 0x6FFFFDFB
    FEATURE_1 = 0x6FFFFDFC
    POSFLAG_1 = 0x6FFFFDFD
    SYMINSZ = 0x6FFFFDFE
    SYMINENT = 0x6FFFFDFF
    GNU_HASH = 0x6FFFFEF5
    TLSDESC_PLT = 0x6FFFFEF6
    TLSDESC_GOT = 0x6FFFFEF7
    GNU_CONFLICT = 0x6FFFFEF8
    GNU_LIBLIST = 0x6FFFFEF9
    CONFIG = 0x6FFFFEFA
    DEPAUDIT = 0x6FFFFEFB
    AUDIT = 0x6FFFFEFC
    PLTPAD = 0x6FFFFEFD
    MOVETAB = 0x6FFFFEFE
    SYMINFO = 0x6FFFFEFF
    VERSYM = 0x6FFFFFF0
    RELACOUNT = 0x6FFFFFF9
    RELCOUNT = 0x6FFFFFFA
    FLAGS_1 = 0x6FFFFFFB
    VERDEF = 0x6FFFFFFC
    VERDEFNUM = 0x6FFFFFFD
    VERNEED = 0x6FFFFFFE
    VERNEEDNUM = 0x6FFFFFFF
    AUXILIARY = 0x7FFFFFFD
    FILTER = 0x7FFFFFFF


#: The first OS-specific dynamic tag (the gABI's generic tags lie below it), the range of tags
#: whose value is an address (``DT_ADDRRNGLO``..``DT_ADDRRNGHI``), and the processor-specific
#: range.
DT_LOOS = 0x6000000D
DT_ADDRRNGLO = 0x6FFFFE00
DT_ADDRRNGHI = 0x6FFFFEFF
DT_LOPROC = 0x70000000
DT_HIPROC = 0x7FFFFFFF


class DynamicFlag1(IntFlag):
    """``DT_FLAGS_1`` bits the loader emulation reads."""

    NODEFLIB = 0x800
    PIE = 0x08000000


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


#: ``.gnu.version`` entries: the version index, and the bit hiding a non-default version.
VERSYM_INDEX = 0x7FFF
VERSYM_HIDDEN = 0x8000


class VersionFlag(IntFlag):
    """``vd_flags`` / ``vna_flags``."""

    BASE = 0x1
    WEAK = 0x2


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


class AndroidNoteType(IntEnum):
    """Note types in the ``Android`` namespace."""

    IDENT = 1


class GnuProperty(IntEnum):
    """``pr_type`` of the properties in a ``NT_GNU_PROPERTY_TYPE_0`` note that matter here."""

    X86_FEATURE_1_AND = 0xC0000002
    X86_ISA_1_NEEDED = 0xC0008002
    X86_ISA_1_USED = 0xC0010002


class X86IsaLevel(IntEnum):
    """x86-64 micro-architecture levels (psABI); a GNU property note's ISA-needed bits."""

    BASELINE = 1
    V2 = 2
    V3 = 3
    V4 = 4
