"""The answer the resolver gives: which file the loader picks for each DT_NEEDED, and why."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.elf import ElfFile

__all__ = [
    "DependencyTree",
    "Flavor",
    "LoadedObject",
    "Rejection",
    "RejectionReason",
    "Resolution",
    "Rule",
    "VersionFailure",
]


class Flavor(Enum):
    """Which loader's rules apply."""

    GLIBC = "glibc"
    MUSL = "musl"
    #: Android's linker (see :mod:`manywheel.linker.bionic`).
    BIONIC = "bionic"


class Rule(Enum):
    """The rule under which the loader found a library (or the reason it did not search)."""

    #: The name matched an object already loaded (its DT_SONAME or the name it was loaded by).
    ALREADY_LOADED = "already-loaded"
    #: The dynamic loader itself: PT_INTERP, or a NEEDED naming it (``ld-linux-x86-64.so.2``).
    INTERPRETER = "interpreter"
    #: The kernel's vDSO (``linux-vdso.so.1``): no file; ``ldd`` lists it without a path.
    VDSO = "vdso"
    #: The NEEDED string contains a slash and is opened as a path.
    PATH = "path-in-needed"
    RPATH = "rpath"
    LD_LIBRARY_PATH = "ld-library-path"
    RUNPATH = "runpath"
    #: auditwheel's ``AUDITWHEEL_LD_LIBRARY_PATH`` / ``--ldpaths``: not a loader rule.
    EXTRA_LDPATHS = "extra-ldpaths"
    LD_SO_CACHE = "ld.so.cache"
    #: ld.so.conf directories, read when there is no ld.so.cache (the loader alone would not).
    LD_SO_CONF = "ld.so.conf"
    DEFAULT_DIRS = "default-dirs"
    #: musl's ``/etc/ld-musl-<arch>.path`` or its built-in list.
    MUSL_PATH = "musl-path"
    #: Bionic: no file answers the name, but Android provides it to every app (a public NDK
    #: library through the system namespace, or the libpython the app has loaded); no path.
    PLATFORM = "platform"


class RejectionReason(Enum):
    """Why a file that exists at a candidate path was skipped (glibc's ``open_verify``)."""

    NOT_ELF = "not-elf"
    WRONG_CLASS = "wrong-class"
    WRONG_DATA = "wrong-data"
    WRONG_MACHINE = "wrong-machine"
    WRONG_OSABI = "wrong-osabi"
    NOT_SHARED = "not-shared"


@value_class
class Rejection:
    path: str
    reason: RejectionReason
    #: The loader's words (``wrong ELF class: ELFCLASS32``, ``invalid ELF header``).
    detail: str
    #: The loader stops here with an error instead of searching on. glibc skips only a file
    #: of the wrong class or machine; musl skips nothing.
    fatal: bool = False


@value_class
class Resolution:
    """What became of one DT_NEEDED entry of one object."""

    #: The NEEDED string as written.
    name: str
    #: The object whose NEEDED it is (its path as the loader names it).
    requester: str
    #: The path the loader opens (virtual; symlinks not followed), or ``None``: not found.
    path: str | None
    #: The rule that found it; ``None`` when not found.
    rule: Rule | None
    #: The search-path entry as written (``$ORIGIN/../lib``), when a search path found it.
    entry: str | None = None
    #: That entry expanded (``/opt/pkg/lib``); the directory the file was found in.
    directory: str | None = None
    #: The objects whose DT_RPATH was searched, the requester first (glibc's ``l_loader``
    #: chain); empty when RPATH was not consulted.
    loader_chain: tuple[str, ...] = ()
    #: Files that existed on the way but did not fit.
    rejected: tuple[Rejection, ...] = ()
    #: The object whose DT_RPATH or DT_RUNPATH held :attr:`entry`.
    entry_owner: str | None = None

    @property
    def found(self) -> bool:
        return self.path is not None or self.rule in (Rule.VDSO, Rule.PLATFORM)

    @property
    def error(self) -> str | None:
        """The loader's error when the search ended on a file it cannot load."""
        if self.path is None and self.rejected and self.rejected[-1].fatal:
            return f"{self.rejected[-1].path}: {self.rejected[-1].detail}"
        return None


@value_class
class VersionFailure:
    """A version a requester needs that the library it got does not define."""

    requester: str
    library: str
    version: str
    weak: bool = False

    @property
    def message(self) -> str:
        """The loader's own words."""
        kind = "weak version" if self.weak else "version"
        return f"{self.library}: {kind} `{self.version}' not found (required by {self.requester})"


@value_class
class LoadedObject:
    """One object in the loader's list: each appears once, however many objects need it."""

    #: The name the loader gives it (the path it opened; the root's path as given).
    path: str
    #: The path with every symbolic link followed (identity of the file).
    realpath: str
    elf: ElfFile
    #: The Resolution that brought it in (``None`` for the root and the interpreter).
    found_by: Resolution | None
    #: One Resolution per DT_NEEDED, in order.
    needed: tuple[Resolution, ...]

    @property
    def soname(self) -> str | None:
        return self.elf.soname


@value_class
class DependencyTree:
    """Every object the loader would load for ``root``, each once, in load (breadth-first)
    order, the interpreter last."""

    flavor: Flavor
    root: LoadedObject
    objects: tuple[LoadedObject, ...]
    #: The interpreter (``None`` when it could not be found).
    interpreter: LoadedObject | None
    version_failures: tuple[VersionFailure, ...]
    #: The program that dlopen()ed :attr:`root` (``Resolver.resolve(..., loaded_by=...)``);
    #: its objects come first in :attr:`objects`.
    host: LoadedObject | None = None

    def get(self, path: str) -> LoadedObject | None:
        for obj in self.objects:
            if obj.path == path:
                return obj
        return None

    @property
    def not_found(self) -> tuple[Resolution, ...]:
        """Every NEEDED the loader could not find, in load order."""
        return tuple(r for obj in self.objects for r in obj.needed if not r.found)

    @property
    def ok(self) -> bool:
        """The loader would load it: every library found, every non-weak version defined."""
        return not self.not_found and not any(not f.weak for f in self.version_failures)
