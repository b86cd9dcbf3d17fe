"""A :class:`~manywheel.linker.FileSystem` that puts a wheel's ELF members (already parsed,
never extracted) over the system's files."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from types import MappingProxyType

from manywheel.audit.layout import is_inside_wheel
from manywheel.elf import ElfFile
from manywheel.linker import FileSystem

__all__ = ["WheelFileSystem"]


class WheelFileSystem:
    """Virtual paths below :data:`~manywheel.audit.layout.WHEEL_ROOT` are the wheel's ELF
    members (``elves``: virtual path -> facts); every other path goes to ``base``."""

    __slots__ = ("_base", "_elves")

    def __init__(self, base: FileSystem, elves: Mapping[str, ElfFile]) -> None:
        self._base = base
        self._elves = MappingProxyType(dict(elves))

    @property
    def base(self) -> FileSystem:
        return self._base

    def resolve(self, path: str) -> str | None:
        if is_inside_wheel(path):
            norm = posixpath.normpath(path)
            return norm if norm in self._elves else None
        return self._base.resolve(path)

    def load_elf(self, resolved: str) -> ElfFile:
        elf = self._elves.get(resolved)
        return elf if elf is not None else self._base.load_elf(resolved)

    def read_bytes(self, path: str) -> bytes | None:
        return None if is_inside_wheel(path) else self._base.read_bytes(path)

    def glob(self, pattern: str) -> tuple[str, ...]:
        return self._base.glob(pattern)
