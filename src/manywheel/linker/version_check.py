"""The version check glibc runs once everything is loaded (``dl-version.c``): each version an
object needs from a library (DT_VERNEED) must be one the library it got defines (DT_VERDEF)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from manywheel.linker.model import VersionFailure

if TYPE_CHECKING:
    from manywheel.elf import ElfFile

__all__ = ["check_versions"]


class _Loaded(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def elf(self) -> ElfFile: ...


def check_versions(
    objects: Sequence[_Loaded], find: Callable[[str], _Loaded | None]
) -> tuple[VersionFailure, ...]:
    """Failures in load order. ``find`` maps a DT_VERNEED file name to the loaded object it names
    (``None``: not loaded, already reported as not found). A library without DT_VERDEF satisfies
    every need: the loader only notes "no version information available" under ``ldd``."""
    failures: list[VersionFailure] = []
    for obj in objects:
        for need in obj.elf.version_needs:
            library = find(need.file)
            if library is None or not library.elf.version_definitions:
                continue
            defined = {d.name for d in library.elf.version_definitions}
            failures.extend(
                VersionFailure(obj.path, library.path, entry.name, entry.weak)
                for entry in need.entries
                if entry.name not in defined
            )
    return tuple(failures)
