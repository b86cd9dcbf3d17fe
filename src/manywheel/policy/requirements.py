"""What a wheel needs from the system, as plain data: the input of the judgment.

The audit fills these from ELF facts and the loader emulation; nothing here reads a file. Per ELF
file: each library it links against (every DT_NEEDED entry, plus any library its version needs
name), where that library resolves, the versions it needs from it with the symbols that need
them, and the undefined symbols it would bind from it; plus the file's ISA level, executable
stack, PyFPE_jbuf and UCS2 use. Per wheel: its architecture, its libc, the musl version it needs,
and the requirements of every library found outside the wheel (a repair may graft them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from enum import Enum
from types import MappingProxyType

from manywheel.policy.definitions import Libc
from manywheel.values import value_class

__all__ = ["ElfRequirements", "LibraryUse", "Location", "WheelRequirements"]


def _no_versions() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


class Location(Enum):
    """Where a needed library resolves."""

    #: Provided by a file inside the wheel (found via RPATH/RUNPATH ``$ORIGIN``).
    WHEEL = "wheel"
    #: Found outside the wheel: on the build system, in the sysroot or ``LD_LIBRARY_PATH``.
    SYSTEM = "system"
    #: Not found anywhere.
    NOT_FOUND = "not-found"


@value_class
class LibraryUse:
    """One library an ELF file links against, and what it needs from it."""

    soname: str
    location: Location
    #: Version name -> the symbols that need it (from the version needs and the symbol table).
    versions: Mapping[str, tuple[str, ...]] = field(default_factory=_no_versions, hash=False)
    #: Undefined symbols the file would bind from this library (for the blacklist).
    symbols: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.versions, MappingProxyType):
            object.__setattr__(self, "versions", MappingProxyType(dict(self.versions)))


@value_class
class ElfRequirements:
    """What one ELF file needs. ``path`` is its path inside the wheel, or for a library outside
    the wheel, its path on the system."""

    path: str
    needed: tuple[LibraryUse, ...] = ()
    #: x86 ISA level the file needs (``GNU_PROPERTY_X86_ISA_1_NEEDED``: 1 = baseline, 2 = v2...).
    isa_level: int | None = None
    executable_stack: bool = False
    uses_pyfpe_jbuf: bool = False
    uses_ucs2: bool = False
    #: An executable that embeds Python: linking libpython is legitimate there.
    embeds_python: bool = False
    #: Android: the API level its ``.note.android.ident`` says it was built for (``None``: no
    #: note).
    android_api_level: int | None = None
    #: Android: it finds a library of the wheel through its DT_RUNPATH (Bionic reads DT_RUNPATH
    #: from API 24 on, and never DT_RPATH).
    runpath_in_wheel: bool = False


@value_class
class WheelRequirements:
    """What a whole wheel needs."""

    #: Policy architecture name: x86_64, i686, aarch64, armv7l, ppc64le, ppc64, s390x, riscv64,
    #: loongarch64.
    arch: str
    libc: Libc
    #: The ELF files inside the wheel.
    files: tuple[ElfRequirements, ...]
    #: Requirements of each library found outside the wheel, by soname: the libraries a repair
    #: may graft. Their own dependencies are in their ``needed``.
    libraries: Mapping[str, ElfRequirements] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    #: For musl: the musl version the wheel needs, taken from the wheel (its musllinux tag or its
    #: ELF files), never from the machine running the tool. ``None`` when unknown.
    musl_version: tuple[int, int] | None = None
    #: For Android: the (lowest) API level the wheel's android tags claim, ``None`` untagged. The
    #: floor for files that do not say which level they were built for.
    android_tag_level: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.libraries, MappingProxyType):
            object.__setattr__(self, "libraries", MappingProxyType(dict(self.libraries)))
