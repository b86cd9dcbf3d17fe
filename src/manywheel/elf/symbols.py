"""The dynamic symbol table: one walk, kept as compact columns.

Design choice, measured on libtorch_cpu.so (75k dynamic symbols): the whole parse takes ~15 ms;
materialising one frozen :class:`Symbol` per entry takes ~200 ms more, and almost every check
needs only aggregates. So :class:`SymbolTable` keeps the raw table bytes, gathers the columns it
needs with strided slices (C speed, no per-symbol ``struct`` call), computes in that one walk the
aggregates the audit needs (imports grouped by library and version, Python init functions,
PyFPE/UCS2 references), and creates :class:`Symbol` values only on indexing or iteration.
"""

from __future__ import annotations

import array
import struct
import sys
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import not_

from manywheel.elf.constants import (
    VERSYM_HIDDEN,
    VERSYM_INDEX,
    SectionIndex,
    SymbolBinding,
    SymbolType,
    SymbolVisibility,
)
from manywheel.elf.layout import Image, Layout
from manywheel.errors import InvalidElfError
from manywheel.values import value_class

__all__ = [
    "ImportGroup",
    "PythonExtension",
    "Symbol",
    "SymbolTable",
    "VersionSlot",
    "name_offsets",
    "read_symbol_table",
    "section_indices",
]

#: Plain ints of the constants the loops over whole tables compare with.
_WEAK = int(SymbolBinding.WEAK)
_NOTYPE, _FUNC = int(SymbolType.NOTYPE), int(SymbolType.FUNC)
_UNDEF = int(SectionIndex.UNDEF)
PYFPE_NAMES = frozenset({"PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"})
UCS2_PREFIX = "PyUnicodeUCS2_"
INIT_PREFIXES = ("PyInit_", "PyModExport_", "init", "_cffi_pypyinit_")
_INIT_PREFIXES = tuple(p.encode() for p in INIT_PREFIXES)


@value_class
class VersionSlot:
    """What a version index (from ``.gnu.version``) stands for."""

    name: str
    #: The library the version is needed from (version needs); ``None`` for a definition.
    file: str | None


@value_class
class Symbol:
    name: str
    value: int
    size: int
    #: st_info: binding in the high nibble, type in the low one.
    info: int
    #: st_other: visibility in the low two bits.
    other: int
    shndx: int
    #: The symbol version's name, ``None`` when unversioned (index 0 or 1, or no .gnu.version).
    version: str | None
    #: For an undefined symbol, the library its version is needed from.
    version_file: str | None
    #: The hidden bit of .gnu.version (``name@VER`` rather than ``name@@VER`` for definitions).
    version_hidden: bool

    @property
    def binding(self) -> SymbolBinding | None:
        try:
            return SymbolBinding(self.info >> 4)
        except ValueError:
            return None

    @property
    def type(self) -> SymbolType | None:
        try:
            return SymbolType(self.info & 0xF)
        except ValueError:
            return None

    @property
    def visibility(self) -> SymbolVisibility:
        return SymbolVisibility(self.other & 3)

    @property
    def defined(self) -> bool:
        return self.shndx != SectionIndex.UNDEF


@value_class
class ImportGroup:
    """The undefined global/weak dynamic symbols that need one (library, version).

    ``library`` and ``version`` are ``None`` for unversioned imports (any library may provide
    them). Names are sorted."""

    library: str | None
    version: str | None
    names: tuple[str, ...]
    #: The subset of ``names`` bound weakly (the loader tolerates them missing).
    weak_names: tuple[str, ...]


@value_class
class PythonExtension:
    """The file is a Python extension module named ``module``."""

    module: str
    init_symbol: str
    #: 3 for ``PyInit_<mod>``, 2 for ``init<mod>`` and PyPy's ``_cffi_pypyinit_<mod>``
    #: (auditwheel's convention).
    python_major: int


@value_class
class SymbolTable(Sequence[Symbol]):
    """The dynamic symbols (index 0, the null symbol, included as readelf shows it).

    Holds the raw table, string table and .gnu.version bytes; :class:`Symbol` values and
    names are decoded on access. The aggregates below were computed in the one parse walk."""

    #: The Elfxx_Sym records, ``layout.sym.size`` bytes each.
    raw: bytes = b""
    strtab: bytes = b""
    #: Raw .gnu.version entries, 2 bytes each (empty when the file has none).
    versym: bytes = b""
    layout: Layout | None = None
    #: Indexed by version index (hidden bit cleared); ``None`` for unassigned indices.
    version_slots: tuple[VersionSlot | None, ...] = ()
    #: Defined functions named ``PyInit_*``, ``PyModExport_*`` (PEP 793), ``init*`` or
    #: ``_cffi_pypyinit_*``.
    python_init_names: tuple[str, ...] = ()
    #: Undefined references (function or no type) to PyFPE_jbuf/PyFPE_dummy/PyFPE_counter
    #: (Python built with --with-fpectl; auditwheel's "pyfpe" check, same rule).
    pyfpe_names: tuple[str, ...] = ()
    #: Undefined functions whose name contains PyUnicodeUCS2_ (narrow-unicode Python 2 builds;
    #: auditwheel's "ucs2" check, same rule).
    ucs2_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.raw) // self.layout.sym.size if self.layout else 0

    def __getitem__(self, index: int) -> Symbol:  # type: ignore[override]
        if self.layout is None or not 0 <= index < len(self):
            raise IndexError(index)
        fields = self.layout.sym.unpack_from(self.raw, index * self.layout.sym.size)
        if self.layout.is64:
            name, info, other, shndx, value, size = fields
        else:
            name, value, size, info, other, shndx = fields
        raw_ver = self.raw_version(index)
        slot = slot_for(self.version_slots, raw_ver)
        return Symbol(
            name=_name_at(self.strtab, name),
            value=value,
            size=size,
            info=info,
            other=other,
            shndx=shndx,
            version=slot.name if slot else None,
            version_file=slot.file if slot else None,
            version_hidden=bool(raw_ver & VERSYM_HIDDEN),
        )

    def __iter__(self) -> Iterator[Symbol]:
        return (self[i] for i in range(len(self)))

    def raw_version(self, index: int) -> int:
        """The .gnu.version entry of symbol ``index`` (0 without .gnu.version)."""
        if not self.versym or self.layout is None:
            return 0
        return int(self.layout.half.unpack_from(self.versym, 2 * index)[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Every symbol's name, in table order (decoded now, not stored)."""
        if self.layout is None:
            return ()
        offsets = _column(self.raw, self.layout, _NAME_FIELD)
        text = self.strtab.decode("utf-8", "surrogateescape")
        if len(text) != len(self.strtab):
            return tuple(_name_at(self.strtab, o) for o in offsets)
        index = text.index
        return tuple(text[o : index("\0", o)] for o in offsets)

    def python_extension(self, filename: str) -> PythonExtension | None:
        """See :meth:`ElfFile.python_extension`."""
        # the base name (after any directory, and after "WHEEL:" in a member's label: module
        # names cannot contain ':'), up to the first dot
        base = filename.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        module = base.split(".", 1)[0]
        defined = set(self.python_init_names)
        hooks = (("PyInit_", 3), ("PyModExport_", 3), ("init", 2), ("_cffi_pypyinit_", 2))
        for prefix, major in hooks:
            if prefix + module in defined:
                return PythonExtension(module, prefix + module, major)
        return None


def slot_for(slots: tuple[VersionSlot | None, ...], raw_versym: int) -> VersionSlot | None:
    """The version a raw .gnu.version entry names; ``None`` for local/global (0, 1) or an
    index nothing defines."""
    index = raw_versym & VERSYM_INDEX
    return slots[index] if 2 <= index < len(slots) else None


def _fail(image: Image, message: str, offset: int | None = None) -> InvalidElfError:
    return InvalidElfError(message, path=image.name, offset=offset)


def _name_at(strtab: bytes, offset: int) -> str:
    return strtab[offset : strtab.index(b"\0", offset)].decode("utf-8", "surrogateescape")


#: (offset in Elf32_Sym, offset in Elf64_Sym, width, array typecode)
_NAME_FIELD = (0, 0, 4, "I")
_INFO_FIELD = (12, 4, 1, "B")
_SHNDX_FIELD = (14, 6, 2, "H")


def _column(raw: bytes, layout: Layout, field: tuple[int, int, int, str]) -> array.array[int]:
    """One field of every record of a table, gathered with strided slices (C speed)."""
    off32, off64, width, code = field
    start, stride = (off64 if layout.is64 else off32), layout.sym.size
    count = len(raw) // stride
    gathered = bytearray(width * count)
    for k in range(width):
        gathered[k::width] = raw[start + k :: stride][:count]
    column = array.array(code)
    if column.itemsize != width:  # exotic platform: fall back to struct
        fmt = layout.endian + {1: "B", 2: "H", 4: "I"}[width]
        return array.array("q", (v for (v,) in struct.iter_unpack(fmt, gathered)))
    column.frombytes(gathered)
    if width > 1 and (layout.endian == "<") != (sys.byteorder == "little"):
        column.byteswap()
    return column


def name_offsets(raw: bytes, layout: Layout) -> array.array[int]:
    """The st_name field of every record in a symbol table's raw bytes (one strided gather)."""
    return _column(raw, layout, _NAME_FIELD)


def section_indices(raw: bytes, layout: Layout) -> array.array[int]:
    """The st_shndx field of every record in a symbol table's raw bytes."""
    return _column(raw, layout, _SHNDX_FIELD)


def _check_names(image: Image, strtab: bytes, offsets: array.array[int], where: int) -> None:
    """Every name offset must start a NUL-terminated string inside the table."""
    if not offsets:
        return
    last = strtab.rfind(b"\0")
    if max(offsets) > last:
        raise _fail(image, "a symbol name runs past the end of the dynamic string table", where)


def read_symbol_table(
    image: Image,
    layout: Layout,
    *,
    symtab: tuple[int, int],
    strtab: bytes,
    strtab_offset: int,
    versym_offset: int | None,
    version_slots: tuple[VersionSlot | None, ...],
) -> tuple[SymbolTable, tuple[ImportGroup, ...]]:
    """Walk the dynamic symbol table at ``symtab`` = (file offset, count) once."""
    offset, count = symtab
    raw = image.read(offset, count * layout.sym.size, "dynamic symbol table")
    versym = b""
    if versym_offset is not None and count:
        versym = image.read(versym_offset, 2 * count, ".gnu.version")
    name_offs = _column(raw, layout, _NAME_FIELD)
    _check_names(image, strtab, name_offs, strtab_offset)
    infos = _column(raw, layout, _INFO_FIELD)
    shndxs = _column(raw, layout, _SHNDX_FIELD)
    # Index selections run at C speed (compress/map): libtorch_cpu.so has 75,000 symbols.
    everywhere = range(len(name_offs))
    undefined = [i for i in compress(everywhere, map(not_, shndxs)) if infos[i] >> 4]  # UNDEF=0
    undef_names = _names_at(strtab, [name_offs[i] for i in undefined])
    prefixed = compress(everywhere, map(strtab.startswith, repeat(_INIT_PREFIXES), name_offs))
    init_names = [
        _name_at(strtab, name_offs[i])
        for i in prefixed
        if shndxs[i] != _UNDEF and infos[i] & 0xF == _FUNC
    ]
    undef_types = [infos[i] & 0xF for i in undefined]
    table = SymbolTable(
        raw=raw,
        strtab=strtab,
        versym=versym,
        layout=layout,
        version_slots=version_slots,
        python_init_names=tuple(n for n in init_names if n.startswith(INIT_PREFIXES)),
        pyfpe_names=tuple(
            sorted(
                n
                for n, t in zip(undef_names, undef_types, strict=True)
                if n in PYFPE_NAMES and t in (_FUNC, _NOTYPE)
            )
        ),
        ucs2_names=tuple(
            sorted(
                n
                for n, t in zip(undef_names, undef_types, strict=True)
                if UCS2_PREFIX in n and t == _FUNC
            )
        ),
    )
    versions = _versym_column(layout, versym) if versym else None
    indices = [versions[i] & VERSYM_INDEX for i in undefined] if versions else [0] * len(undefined)
    weak = {n for i, n in zip(undefined, undef_names, strict=True) if infos[i] >> 4 == _WEAK}
    return table, _group_imports(version_slots, indices, undef_names, weak)


def _names_at(strtab: bytes, offsets: list[int]) -> list[str]:
    """Names at string-table offsets already checked by :func:`_check_names`."""
    if len(offsets) < 1000:
        return [_name_at(strtab, o) for o in offsets]
    text = strtab.decode("utf-8", "surrogateescape")
    if len(text) != len(strtab):
        return [_name_at(strtab, o) for o in offsets]
    find = text.index
    return [text[o : find("\0", o)] for o in offsets]


def _versym_column(layout: Layout, versym: bytes) -> array.array[int]:
    table = array.array("H")
    table.frombytes(versym)
    if (layout.endian == "<") != (sys.byteorder == "little"):
        table.byteswap()
    return table


def _group_imports(
    slots: tuple[VersionSlot | None, ...], indices: list[int], names: list[str], weak: set[str]
) -> tuple[ImportGroup, ...]:
    """Imports grouped by (library, version); ``indices`` are the version indices."""
    by_index: dict[int, list[str]] = {v: [] for v in set(indices)}
    for v, name in zip(indices, names, strict=True):
        by_index[v].append(name)
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for v, members in by_index.items():
        slot = slot_for(slots, v)
        groups.setdefault((slot.file, slot.name) if slot else (None, None), []).extend(members)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    return tuple(
        ImportGroup(
            lib,
            ver,
            tuple(sorted(members)),
            tuple(sorted(weak.intersection(members) if weak else ())),
        )
        for (lib, ver), members in ordered
    )
