"""Where a wheel's members land once installed, as the emulated loader sees them.

The wheel is never extracted: its ELF members are placed at *virtual* paths below
:data:`WHEEL_ROOT` (standing for site-packages), so that ``$ORIGIN`` in their RPATH/RUNPATH
resolves to other members exactly as it will after ``pip install``. Which members land in
site-packages is the wheel format's rule (:func:`manywheel.wheel.site_packages_path`); the
others (``.data`` scripts, data, headers) keep their member path, since where they land
depends on the installer's scheme.
"""

from __future__ import annotations

import posixpath

from manywheel.wheel import site_packages_path

__all__ = ["WHEEL_ROOT", "installed_path", "is_inside_wheel", "member_of"]

#: The virtual directory that stands for site-packages while the loader is emulated.
WHEEL_ROOT = "/.manywheel/site-packages"


def installed_path(member: str) -> str:
    """The virtual absolute path of ``member`` once installed."""
    return posixpath.join(WHEEL_ROOT, site_packages_path(member) or member)


def is_inside_wheel(path: str) -> bool:
    """Whether the virtual path ``path`` (normalised) lies inside the installed wheel."""
    norm = posixpath.normpath(path)
    return norm == WHEEL_ROOT or norm.startswith(WHEEL_ROOT + "/")


def member_of(path: str, members: dict[str, str]) -> str | None:
    """The member installed at the virtual path ``path``, given ``members`` (virtual -> member)."""
    return members.get(posixpath.normpath(path))
