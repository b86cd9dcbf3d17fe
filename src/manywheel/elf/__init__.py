"""Read ELF files into immutable facts: header, segments, sections, dynamic entries, dynamic
symbols with versions, version needs and definitions, notes. And edit their dynamic section
(:func:`edit_elf`: search paths, needed libraries, SONAME), every result checked.

Every reader raises :class:`manywheel.errors.InvalidElfError` (and nothing else) on bad input;
the editor also raises :class:`manywheel.errors.ElfEditError` for a file it will not edit.

The editor's names load on first use: reading ELF files (``show``) never needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.elf.constants import (
    DT_HIPROC,
    DT_LOOS,
    DynamicFlag1,
    DynamicTag,
    ElfClass,
    ElfData,
    ElfType,
    Machine,
    OsAbi,
    SectionFlag,
    SectionIndex,
    SectionType,
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
from manywheel.lazy import lazy_attributes

if TYPE_CHECKING:
    from manywheel.elf.blobs import EditMethod
    from manywheel.elf.changes import DynamicFacts, ElfChanges, SearchPathTag
    from manywheel.elf.editor import (
        EDITABLE_MACHINES,
        ElfEdit,
        apply_patches,
        dynamic_facts,
        edit_elf,
    )

_LAZY = {
    "EditMethod": "manywheel.elf.blobs",
    **dict.fromkeys(("DynamicFacts", "ElfChanges", "SearchPathTag"), "manywheel.elf.changes"),
    **dict.fromkeys(
        ("EDITABLE_MACHINES", "ElfEdit", "apply_patches", "dynamic_facts", "edit_elf"),
        "manywheel.elf.editor",
    ),
}

__all__ = [
    "DEFAULT_BUFFER_LIMIT",
    "DT_HIPROC",
    "DT_LOOS",
    "EDITABLE_MACHINES",
    "AndroidIdent",
    "ByteStream",
    "DynamicFacts",
    "DynamicFlag1",
    "DynamicTag",
    "EditMethod",
    "ElfChanges",
    "ElfClass",
    "ElfData",
    "ElfEdit",
    "ElfFile",
    "ElfHeader",
    "ElfType",
    "GnuProperties",
    "ImportGroup",
    "Machine",
    "OsAbi",
    "PythonExtension",
    "SearchPathTag",
    "Section",
    "SectionFlag",
    "SectionIndex",
    "SectionType",
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
    "apply_patches",
    "dynamic_facts",
    "edit_elf",
    "parse_elf",
    "read_elf",
    "read_elf_stream",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
