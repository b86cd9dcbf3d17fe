"""The dynamic symbol table: one walk, kept as compact columns.

Design choice (measured on libtorch_cpu.so, ~100k dynamic symbols): building one frozen
dataclass per symbol costs more than the whole rest of the parse, and almost every check needs
only aggregates. So the table keeps columns (tuples built by ``struct.iter_unpack`` and one
transpose), computes the aggregates the audit needs in the same walk (imports grouped by library
and version, Python init symbols, PyFPE/UCS2 references), and creates :class:`Symbol` values
lazily on indexing or iteration.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from manywheel.elf.constants import SymbolBinding, SymbolType, SymbolVisibility
from manywheel.elf.layout import Image, Layout
from manywheel.errors import InvalidElfError

__all__ = [
    "ImportGroup",
    "PythonExtension",
    "Symbol",
    "SymbolTable",
    "VersionSlot",
    "read_symbol_table",
]

VERSYM_HIDDEN = 0x8000
VERSYM_INDEX = 0x7FFF
SHN_UNDEF = 0
PYFPE_NAMES = frozenset({"PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"})
UCS2_PREFIX = "PyUnicodeUCS2_"
INIT_PREFIXES = ("PyInit_", "init", "_cffi_pypyinit_")


@dataclass(frozen=True, slots=True)
class VersionSlot:
    """What a version index (from ``.gnu.version``) stands for."""

    name: str
    #: The library the version is needed from (version needs); ``None`` for a definition.
    file: str | None


@dataclass(frozen=True, slots=True)
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
        return self.shndx != SHN_UNDEF


@dataclass(frozen=True, slots=True)
class ImportGroup:
    """The undefined global/weak dynamic symbols that need one (library, version).

    ``library`` and ``version`` are ``None`` for unversioned imports (any library may provide
    them). Names are sorted."""

    library: str | None
    version: str | None
    names: tuple[str, ...]
    #: The subset of ``names`` bound weakly (the loader tolerates them missing).
    weak_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PythonExtension:
    """The file is a Python extension module named ``module``."""

    module: str
    init_symbol: str
    #: 3 for ``PyInit_<mod>``, 2 for ``init<mod>`` and PyPy's ``_cffi_pypyinit_<mod>``
    #: (auditwheel's convention).
    python_major: int


@dataclass(frozen=True, slots=True)
class SymbolTable(Sequence[Symbol]):
    """The dynamic symbols (index 0, the null symbol, included as readelf shows it)."""

    names: tuple[str, ...] = ()
    values: tuple[int, ...] = ()
    sizes: tuple[int, ...] = ()
    infos: bytes = b""
    others: bytes = b""
    shndxs: tuple[int, ...] = ()
    #: Raw .gnu.version entries (empty when the file has none).
    versym: tuple[int, ...] = ()
    #: Indexed by version index (hidden bit cleared); ``None`` for unassigned indices.
    version_slots: tuple[VersionSlot | None, ...] = ()
    #: Defined symbols named ``PyInit_*``, ``init*`` or ``_cffi_pypyinit_*``.
    python_init_names: tuple[str, ...] = ()
    #: Undefined references to PyFPE_jbuf/PyFPE_dummy/PyFPE_counter (Python built with
    #: --with-fpectl; auditwheel's "pyfpe").
    pyfpe_names: tuple[str, ...] = ()
    #: Undefined references to PyUnicodeUCS2_* (narrow-unicode Python 2 builds).
    ucs2_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> Symbol:  # type: ignore[override]
        raw_ver = self.versym[index] if self.versym else 0
        slot = slot_for(self.version_slots, raw_ver)
        return Symbol(
            name=self.names[index],
            value=self.values[index],
            size=self.sizes[index],
            info=self.infos[index],
            other=self.others[index],
            shndx=self.shndxs[index],
            version=slot.name if slot else None,
            version_file=slot.file if slot else None,
            version_hidden=bool(raw_ver & VERSYM_HIDDEN),
        )

    def __iter__(self) -> Iterator[Symbol]:
        return (self[i] for i in range(len(self.names)))

    def python_extension(self, filename: str) -> PythonExtension | None:
        """See :meth:`ElfFile.python_extension`."""
        module = filename.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
        defined = set(self.python_init_names)
        for prefix, major in (("PyInit_", 3), ("init", 2), ("_cffi_pypyinit_", 2)):
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


def symbol_names(strtab: bytes, offsets: Sequence[int], image: Image, where: int) -> list[str]:
    """Resolve string-table offsets to names, splitting the table once."""
    text = strtab.decode("utf-8", "surrogateescape")
    if len(text) != len(strtab):  # non-ASCII: byte offsets are not character offsets
        return [_slow_name(strtab, o, image, where) for o in offsets]
    parts = text.split("\0")
    starts = accumulate(map((1).__add__, map(len, parts)), initial=0)
    by_start = dict(zip(starts, parts, strict=False))
    names = list(map(by_start.get, offsets))
    for i, name in enumerate(names):
        if name is None:
            names[i] = _slow_name(strtab, offsets[i], image, where)
    return names  # type: ignore[return-value]


def _slow_name(strtab: bytes, offset: int, image: Image, where: int) -> str:
    end = strtab.find(b"\0", offset)
    if offset >= len(strtab) or end < 0:
        raise _fail(image, f"string offset 0x{offset:x} is outside the string table", where)
    return strtab[offset:end].decode("utf-8", "surrogateescape")


def _versym(layout: Layout, raw: bytes, count: int) -> tuple[int, ...]:
    table = array.array("H")
    table.frombytes(raw[: 2 * count])
    if (layout.endian == "<") != (sys.byteorder == "little"):
        table.byteswap()
    return tuple(table)


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
    if count == 0:
        return SymbolTable(version_slots=version_slots), ()
    raw = image.read(offset, count * layout.sym.size, "dynamic symbol table")
    rows = list(layout.sym.iter_unpack(raw))
    if layout.is64:
        name_offs, infos, others, shndxs, values, sizes = zip(*rows, strict=True)
    else:
        name_offs, values, sizes, infos, others, shndxs = zip(*rows, strict=True)
    names = symbol_names(strtab, name_offs, image, strtab_offset)
    versym: tuple[int, ...] = ()
    if versym_offset is not None:
        versym = _versym(layout, image.read(versym_offset, 2 * count, ".gnu.version"), count)
    undefined = [i for i, s in enumerate(shndxs) if s == SHN_UNDEF and infos[i] >> 4]
    undef_names = [names[i] for i in undefined]
    table = SymbolTable(
        names=tuple(names),
        values=values,
        sizes=sizes,
        infos=bytes(infos),
        others=bytes(others),
        shndxs=shndxs,
        versym=versym,
        version_slots=version_slots,
        python_init_names=_init_names(names, shndxs),
        pyfpe_names=tuple(sorted(n for n in undef_names if n in PYFPE_NAMES)),
        ucs2_names=tuple(sorted(n for n in undef_names if n.startswith(UCS2_PREFIX))),
    )
    return table, _group_imports(table, undefined)


def _init_names(names: list[str], shndxs: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(n for n, s in zip(names, shndxs, strict=True) if s and n.startswith(INIT_PREFIXES))


def _group_imports(table: SymbolTable, undefined: list[int]) -> tuple[ImportGroup, ...]:
    groups: dict[tuple[str | None, str | None], tuple[list[str], list[str]]] = {}
    for i in undefined:
        raw_ver = table.versym[i] if table.versym else 0
        slot = slot_for(table.version_slots, raw_ver)
        key = (slot.file, slot.name) if slot else (None, None)
        names, weak = groups.setdefault(key, ([], []))
        names.append(table.names[i])
        if table.infos[i] >> 4 == SymbolBinding.WEAK:
            weak.append(table.names[i])
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    return tuple(
        ImportGroup(lib, ver, tuple(sorted(names)), tuple(sorted(weak)))
        for (lib, ver), (names, weak) in ordered
    )
