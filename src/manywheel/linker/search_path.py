"""Search-path variables (``LD_LIBRARY_PATH``, ``AUDITWHEEL_LD_LIBRARY_PATH``, ``--ldpaths``),
split one way: glibc's (``_dl_init_paths`` hands ``LD_LIBRARY_PATH`` to ``fillin_rpath`` with
the separators ``:;``, in ``elf/dl-load.c``).

- Unset or empty: no directory at all.
- ``:`` and ``;`` both separate entries.
- An empty entry (``/a::/b``, a leading or trailing separator) is the current directory: glibc
  keeps it as a directory of length 0, so the library's name is opened as it is, relative to
  the process's working directory. It is kept here as ``""``; the resolver joins it (and any
  relative entry) to :attr:`SearchSettings.cwd`, or drops it when none is given.
- Trailing slashes go (``/usr/lib//`` is ``/usr/lib``; ``/`` stays ``/``).
- A directory named twice is searched once, where it is first named.

Tokens (``$ORIGIN``, ``$LIB``, ``$PLATFORM``) are left as written: the resolver expands them
(``$ORIGIN`` of ``LD_LIBRARY_PATH`` is the program's directory, as for glibc). A ``DT_RPATH``
or ``DT_RUNPATH`` string is *not* split here: glibc splits those on ``:`` alone.
"""

from __future__ import annotations

import re

__all__ = ["parse_search_path"]

_SEPARATORS = re.compile(r"[:;]")


def parse_search_path(value: str | None) -> tuple[str, ...]:
    """The directories of a search-path variable, in order (see the module's rules)."""
    if not value:
        return ()
    entries: dict[str, None] = {}
    for entry in _SEPARATORS.split(value):
        stripped = entry.rstrip("/")
        entries.setdefault(stripped if stripped or not entry else "/", None)
    return tuple(entries)
