"""Facts about a system's files that hold while the files are unchanged, kept across the audits
of many wheels in one process: the parsed ELF facts of its libraries (libc's version
definitions, ...) and its parsed ld.so.cache. ``show A.whl B.whl ...`` (in each worker), a
repair's audit and its closure check, ``build`` repairing wheel after wheel: each parses libc
and the cache once, not once per wheel.

An explicit object, passed in (no module state, as STYLE.md asks). A file is known by where it
is and by its device, inode, size and modification time: a file that changed is parsed again.
An ld.so.cache is known by its bytes (it is read whole anyway). Thread-safe.

Not kept on disk between runs: measured on a one-extension wheel, parsing ld.so.cache takes
0.8 ms and libc's facts 1 ms; reading them back from a file would cost about as much, and would
make a cache file something the audit has to trust.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.errors import InvalidElfError

if TYPE_CHECKING:
    from manywheel.elf import ElfFile
    from manywheel.linker.ldcache import LdCache

__all__ = ["HostFacts"]


class HostFacts:
    """Parsed system files, shared by the audits that are given the same object."""

    __slots__ = ("_elves", "_ld_caches", "_lock", "parsed")

    def __init__(self) -> None:
        self._elves: dict[tuple[str, int, int, int, int], ElfFile | InvalidElfError] = {}
        self._ld_caches: dict[bytes, LdCache | None] = {}
        self._lock = threading.Lock()
        #: How many files were parsed (not answered from what is known): for tests.
        self.parsed = 0

    def elf(self, path: str, parse: Callable[[str], ElfFile]) -> ElfFile:
        """The facts of the file at ``path`` (a host path): known ones while the file is
        unchanged, else ``parse(path)``. Its :class:`InvalidElfError` is kept as well."""
        info = Path(path).stat()
        key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with self._lock:
            known = self._elves.get(key)
        if known is None:
            try:
                known = parse(path)
            except InvalidElfError as e:
                known = e
            with self._lock:
                self._elves[key] = known
                self.parsed += 1
        if isinstance(known, InvalidElfError):
            raise known.with_traceback(None)  # (the same object each time: no growing traceback)
        return known

    def ld_cache(self, data: bytes, parse: Callable[[bytes], LdCache | None]) -> LdCache | None:
        """The parsed ld.so.cache of these bytes (``parse`` on first sight)."""
        with self._lock:
            if data in self._ld_caches:
                return self._ld_caches[data]
        parsed = parse(data)
        with self._lock:
            self._ld_caches[data] = parsed
            self.parsed += 1
        return parsed
