"""Small constructors for requirement objects, so each test states only what matters to it."""

from __future__ import annotations

from collections.abc import Mapping

from manywheel.policy import ElfRequirements, Libc, LibraryUse, Location, WheelRequirements

#: Which whitelisted library provides each version namespace of the shipped data.
LIBRARY_OF_NAMESPACE = {
    "GLIBC": "libc.so.6",
    "GLIBCXX": "libstdc++.so.6",
    "CXXABI": "libstdc++.so.6",
    "GCC": "libgcc_s.so.1",
    "ZLIB": "libz.so.1",
    "LIBATOMIC": "libatomic.so.1",
}


def library_for(namespace: str) -> str:
    """``CXXABI_LDBL`` and ``GLIBCXX_IEEE128`` live in libstdc++, like their families."""
    return LIBRARY_OF_NAMESPACE[namespace.split("_", 1)[0]]


def use(
    soname: str,
    location: Location = Location.SYSTEM,
    *versions: str,
    symbols: frozenset[str] = frozenset(),
) -> LibraryUse:
    """A library link; each version is needed by one made-up symbol ``sym@VERSION``."""
    return LibraryUse(soname, location, {v: (f"sym@{v}",) for v in versions}, symbols)


def needs(*versions: str) -> tuple[LibraryUse, ...]:
    """Links to the whitelisted libraries providing ``versions`` (grouped by library)."""
    by_library: dict[str, list[str]] = {}
    for version in versions:
        namespace = version.rsplit("_", 1)[0]
        by_library.setdefault(library_for(namespace), []).append(version)
    return tuple(use(lib, Location.SYSTEM, *vs) for lib, vs in sorted(by_library.items()))


def elf(
    path: str = "pkg/_ext.so",
    *needed: LibraryUse,
    isa_level: int | None = None,
    executable_stack: bool = False,
    uses_pyfpe_jbuf: bool = False,
    uses_ucs2: bool = False,
) -> ElfRequirements:
    return ElfRequirements(
        path, tuple(needed), isa_level, executable_stack, uses_pyfpe_jbuf, uses_ucs2
    )


def wheel(
    *files: ElfRequirements,
    arch: str = "x86_64",
    libc: Libc = Libc.GLIBC,
    libraries: Mapping[str, ElfRequirements] | None = None,
    musl: tuple[int, int] | None = None,
) -> WheelRequirements:
    return WheelRequirements(arch, libc, tuple(files), dict(libraries or {}), musl)
