"""The audit report: per ELF member its facts, how each needed library resolves, what it needs
from each, its hygiene problems; the libraries outside the wheel; and the verdict per policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING

from manywheel.elf import ElfFile, PythonExtension
from manywheel.linker import DependencyTree, VersionFailure
from manywheel.policy import Libc, PolicyVerdict, Verdict, WheelRequirements
from manywheel.values import value_class
from manywheel.wheel import Finding, WheelFilename

if TYPE_CHECKING:
    from manywheel.policy import PythonAbiVerdict

__all__ = [
    "AuditReport",
    "ElfMember",
    "ElfRole",
    "ExternalLibrary",
    "Holdout",
    "IgnoredMember",
    "NeededLibrary",
    "Where",
]


def _frozen(mapping: Mapping[str, object]) -> MappingProxyType[str, object]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


class ElfRole(Enum):
    EXTENSION = "extension"
    LIBRARY = "library"
    EXECUTABLE = "executable"


class Where(Enum):
    """Where a needed library resolves."""

    WHEEL = "wheel"
    SYSTEM = "system"
    #: The dynamic loader itself or the vDSO: always there.
    LOADER = "loader"
    #: Android: provided to every app by the platform (a public NDK library, the app's
    #: libpython), with no file under the audited root.
    PLATFORM = "platform"
    NOT_FOUND = "not-found"


@value_class
class NeededLibrary:
    """One DT_NEEDED entry of one member and what became of it."""

    soname: str
    where: Where
    #: The member providing it (``WHEEL``) or the path on the system (``SYSTEM``).
    path: str | None
    #: The loader rule that found it (``runpath``, ``ld.so.cache``, ...), ``None`` if not found.
    rule: str | None
    #: The search-path entry as written (``$ORIGIN/../foo.libs``), when a search path found it.
    entry: str | None


@value_class
class ElfMember:
    """One ELF file inside the wheel."""

    member: str
    role: ElfRole
    elf: ElfFile
    extension: PythonExtension | None
    needed: tuple[NeededLibrary, ...]
    #: Library -> version -> the imported symbols that need it.
    versions: Mapping[str, Mapping[str, tuple[str, ...]]]
    #: RPATH/RUNPATH entries that point outside the wheel (a build machine's path).
    foreign_rpaths: tuple[str, ...]
    #: The LOAD alignment is below the page size the architecture can use (64 KiB).
    low_alignment: bool
    #: The libpython it links, if any.
    libpython: str | None
    #: An executable that embeds Python (calls Py_Initialize...): its libpython is legitimate.
    embeds_python: bool
    version_failures: tuple[VersionFailure, ...]
    #: The dependency tree the member was resolved in: its own when it is loaded on its own (an
    #: extension, an executable, a library no other member's tree loads), else the tree of
    #: the first member that loads it.
    tree: DependencyTree

    def __post_init__(self) -> None:
        frozen = {k: _frozen(v) for k, v in self.versions.items()}
        object.__setattr__(self, "versions", _frozen(frozen))


@value_class
class IgnoredMember:
    """An ELF member the audit leaves out (another architecture), and why."""

    member: str
    reason: str


@value_class
class ExternalLibrary:
    """A library found (or not) outside the wheel."""

    soname: str
    #: Where the loader would open it (``None``: not found).
    path: str | None
    #: The file itself (symbolic links followed).
    realpath: str | None
    #: Members and other external libraries that need it.
    needed_by: tuple[str, ...]


@value_class
class Holdout:
    """One ELF member that alone keeps the wheel from a better tag."""

    member: str
    #: The best tag after repair with it, and without it.
    with_it: str
    without_it: str


@value_class
class AuditReport:
    path: str
    filename: WheelFilename
    #: No ELF member at all.
    pure: bool
    arch: str | None
    libc: Libc | None
    findings: tuple[Finding, ...]
    members: tuple[ElfMember, ...]
    ignored: tuple[IgnoredMember, ...]
    external: tuple[ExternalLibrary, ...]
    requirements: WheelRequirements | None
    verdict: Verdict | None
    holdouts: tuple[Holdout, ...] = ()
    #: ELF members found in a ``.data/purelib`` directory (a wheel must not install them there).
    purelib_elves: tuple[str, ...] = field(default=())
    #: The Python-tag verdict (abi3/abi3t symbols, suffixes, free-threaded or not), kept apart
    #: from the platform-tag ``verdict``; ``None`` for a pure wheel or a non-CPython tag.
    python_abi: PythonAbiVerdict | None = None

    @property
    def best(self) -> PolicyVerdict | None:
        """The best policy the wheel can claim as it is."""
        return None if self.verdict is None else self.verdict.best

    @property
    def best_after_repair(self) -> PolicyVerdict | None:
        return None if self.verdict is None else self.verdict.best_after_repair

    def member(self, name: str) -> ElfMember:
        for m in self.members:
            if m.member == name:
                return m
        raise KeyError(name)
