"""Where a wheel's members land once installed, as the emulated loader sees them.

The wheel is never extracted: its ELF members are placed at *virtual* paths below
:data:`WHEEL_ROOT` (standing for site-packages), so that ``$ORIGIN`` in their RPATH/RUNPATH
resolves to other members exactly as it will after ``pip install``. ``<name>.data/platlib/`` and
``<name>.data/purelib/`` install into site-packages itself; other ``.data`` directories (scripts,
data, headers) keep their member path, since where they land depends on the installer's scheme.
"""

from __future__ import annotations

import posixpath

__all__ = ["WHEEL_ROOT", "installed_path", "is_inside_wheel", "member_of"]

#: The virtual directory that stands for site-packages while the loader is emulated.
WHEEL_ROOT = "/.manywheel/site-packages"

_LIB_SCHEMES = ("platlib", "purelib")


def installed_path(member: str) -> str:
    """The virtual absolute path of ``member`` once installed."""
    parts = member.split("/")
    if len(parts) > 2 and parts[0].endswith(".data") and parts[1] in _LIB_SCHEMES:
        parts = parts[2:]
    return posixpath.join(WHEEL_ROOT, *parts)


def is_inside_wheel(path: str) -> bool:
    """Whether the virtual path ``path`` (normalised) lies inside the installed wheel."""
    norm = posixpath.normpath(path)
    return norm == WHEEL_ROOT or norm.startswith(WHEEL_ROOT + "/")


def member_of(path: str, members: dict[str, str]) -> str | None:
    """The member installed at the virtual path ``path``, given ``members`` (virtual -> member)."""
    return members.get(posixpath.normpath(path))
