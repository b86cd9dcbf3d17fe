"""The immutable facts read from one ELF file."""

from __future__ import annotations

from manywheel.elf.constants import (
    ArmFlag,
    ElfClass,
    ElfData,
    ElfType,
    Machine,
    SegmentFlag,
    SegmentType,
    VersionFlag,
    X86IsaLevel,
)
from manywheel.elf.symbols import ImportGroup, PythonExtension, SymbolTable
from manywheel.values import value_class

__all__ = [
    "AndroidIdent",
    "ElfFile",
    "ElfHeader",
    "GnuProperties",
    "Section",
    "Segment",
    "VersionDefinition",
    "VersionNeed",
    "VersionNeedEntry",
]


@value_class
class ElfHeader:
    elf_class: ElfClass
    data: ElfData
    osabi: int
    abi_version: int
    #: e_type as written; see :attr:`type`.
    e_type: int
    #: e_machine as written; see :attr:`machine`.
    e_machine: int
    #: e_flags: processor-specific (ARM EABI version and float ABI, RISC-V float ABI, ...).
    flags: int
    entry: int

    @property
    def type(self) -> ElfType | None:
        try:
            return ElfType(self.e_type)
        except ValueError:
            return None

    @property
    def machine(self) -> Machine | None:
        try:
            return Machine(self.e_machine)
        except ValueError:
            return None

    @property
    def arm_eabi_version(self) -> int | None:
        """The ARM EABI version from e_flags (5 for current toolchains); ``None`` off ARM."""
        if self.e_machine != Machine.ARM:
            return None
        return (self.flags & ArmFlag.EABI_MASK) >> 24

    @property
    def arm_hard_float(self) -> bool:
        """ARM only: built for the hard-float ABI (armhf; what ``armv7l`` wheels need)."""
        return self.e_machine == Machine.ARM and bool(self.flags & ArmFlag.ABI_FLOAT_HARD)


@value_class
class Segment:
    """One program header."""

    p_type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def type(self) -> SegmentType | None:
        try:
            return SegmentType(self.p_type)
        except ValueError:
            return None

    @property
    def executable(self) -> bool:
        return bool(self.flags & SegmentFlag.X)


@value_class
class Section:
    """One section header (only when the file has a section header table)."""

    name: str
    sh_type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


@value_class
class VersionNeedEntry:
    """One version a library is required to provide (``Elfxx_Vernaux``)."""

    name: str
    flags: int
    #: The version index symbols use to refer to it (vna_other, hidden bit cleared).
    index: int
    hash: int

    @property
    def weak(self) -> bool:
        return bool(self.flags & VersionFlag.WEAK)


@value_class
class VersionNeed:
    """The versions needed from one library (``Elfxx_Verneed``), in file order."""

    file: str
    entries: tuple[VersionNeedEntry, ...]


@value_class
class VersionDefinition:
    """A version this file defines (``Elfxx_Verdef``); ``parents`` are the names it inherits."""

    name: str
    index: int
    flags: int
    parents: tuple[str, ...]
    hash: int = 0

    @property
    def is_base(self) -> bool:
        """The base definition: the file's own name, not a symbol version."""
        return bool(self.flags & VersionFlag.BASE)


@value_class
class GnuProperties:
    """What the ``.note.gnu.property`` note says (x86 only today)."""

    #: GNU_PROPERTY_X86_ISA_1_NEEDED bits (0 if absent).
    x86_isa_needed: int = 0
    #: GNU_PROPERTY_X86_ISA_1_USED bits (0 if absent).
    x86_isa_used: int = 0
    #: GNU_PROPERTY_X86_FEATURE_1_AND bits (IBT=1, SHSTK=2).
    x86_feature_1_and: int = 0

    @property
    def x86_isa_level(self) -> X86IsaLevel | None:
        """The highest x86-64 level in ISA-needed, or ``None`` without the property."""
        bits = self.x86_isa_needed & 0xF
        return X86IsaLevel(bits.bit_length()) if bits else None


@value_class
class AndroidIdent:
    """What an Android ``.note.android.ident`` note says: the API level the file was built for
    (the NDK's ``__ANDROID_API__``, its ``minSdkVersion``) and the NDK that built it."""

    api_level: int
    #: ``r27d``; ``None`` before NDK r14 or when blank.
    ndk_version: str | None = None
    #: ``13750724``; ``None`` when absent.
    ndk_build: str | None = None


@value_class
class ElfFile:
    name: str
    header: ElfHeader
    arch: str | None
    interpreter: str | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    flags: int
    flags_1: int
    version_needs: tuple[VersionNeed, ...]
    version_definitions: tuple[VersionDefinition, ...]
    segments: tuple[Segment, ...]
    #: Empty when the file has no section header table (or when streamed: see read_elf_stream).
    sections: tuple[Section, ...]
    symbols: SymbolTable
    #: Imported (undefined, non-local) dynamic symbols by (library, version); see ImportGroup.
    imports: tuple[ImportGroup, ...]
    build_id: bytes | None
    gnu_properties: GnuProperties
    #: PT_GNU_STACK with PF_X, or no PT_GNU_STACK at all (the loader then makes the stack
    #: executable on most architectures).
    executable_stack: bool
    #: The smallest p_align of the PT_LOAD segments (the largest page size the file supports).
    load_alignment: int | None
    #: The Android ident note (files linked by the NDK carry one); ``None`` without it.
    android: AndroidIdent | None = None

    @property
    def x86_isa_level(self) -> X86IsaLevel | None:
        return self.gnu_properties.x86_isa_level

    @property
    def has_gnu_stack(self) -> bool:
        return any(s.p_type == SegmentType.GNU_STACK for s in self.segments)

    def python_extension(self, filename: str | None = None) -> PythonExtension | None:
        """The Python extension module this file is, judged as auditwheel does: the module
        name is the file's base name up to the first dot (``filename`` or :attr:`name`), and
        the file defines ``PyInit_<mod>`` (Python 3), ``init<mod>`` (Python 2) or
        ``_cffi_pypyinit_<mod>`` (PyPy cffi); or ``PyModExport_<mod>``, the export hook of
        PEP 793 (3.15), which an abi3t module may define alone."""
        return self.symbols.python_extension(filename if filename is not None else self.name)
