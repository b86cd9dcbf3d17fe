"""Read ELF files into immutable facts: header, segments, sections, dynamic entries, dynamic
symbols with versions, version needs and definitions, notes.

Every reader raises :class:`manywheel.errors.InvalidElfError` (and nothing else) on bad input.
"""

from manywheel.elf.constants import (
    DynamicTag,
    ElfClass,
    ElfData,
    ElfType,
    Machine,
    SegmentFlag,
    SegmentType,
    SymbolBinding,
    SymbolType,
    SymbolVisibility,
    X86IsaLevel,
)
from manywheel.elf.model import (
    AndroidIdent,
    ElfFile,
    ElfHeader,
    GnuProperties,
    Section,
    Segment,
    VersionDefinition,
    VersionNeed,
    VersionNeedEntry,
)
from manywheel.elf.reader import parse_elf, read_elf
from manywheel.elf.stream import DEFAULT_BUFFER_LIMIT, ByteStream, read_elf_stream
from manywheel.elf.symbols import ImportGroup, PythonExtension, Symbol, SymbolTable, VersionSlot

__all__ = [
    "DEFAULT_BUFFER_LIMIT",
    "AndroidIdent",
    "ByteStream",
    "DynamicTag",
    "ElfClass",
    "ElfData",
    "ElfFile",
    "ElfHeader",
    "ElfType",
    "GnuProperties",
    "ImportGroup",
    "Machine",
    "PythonExtension",
    "Section",
    "Segment",
    "SegmentFlag",
    "SegmentType",
    "Symbol",
    "SymbolBinding",
    "SymbolTable",
    "SymbolType",
    "SymbolVisibility",
    "VersionDefinition",
    "VersionNeed",
    "VersionNeedEntry",
    "VersionSlot",
    "X86IsaLevel",
    "parse_elf",
    "read_elf",
    "read_elf_stream",
]
