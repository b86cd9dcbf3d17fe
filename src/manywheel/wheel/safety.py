"""What makes a member unsafe to read or install: its name, its file type, its encryption."""

from __future__ import annotations

import re
import stat

from manywheel.errors import UnsafeWheelError
from manywheel.wheel.zipformat import Member

__all__ = ["check_member", "check_name"]

_CONTROL = re.compile("[\x00-\x1f\x7f]")


def check_name(name: str, *, path: str | None = None) -> None:
    """Raise :class:`UnsafeWheelError` unless ``name`` is a plain relative POSIX path that stays
    inside the wheel's root: no ``..`` or ``.`` components, no empty component, not absolute, no
    backslash, no NUL or other control character."""

    def refuse(why: str) -> UnsafeWheelError:
        return UnsafeWheelError(f"unsafe member name: {why}", path=path, member=repr(name))

    if not name:
        raise refuse("empty")
    if _CONTROL.search(name):
        raise refuse("contains a NUL or control character")
    if "\\" in name:
        raise refuse("contains a backslash")
    if name.startswith("/"):
        raise refuse("absolute path")
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise refuse("'.', '..' or empty path component (would land outside the wheel's root)")
    if len(parts[0]) >= 2 and parts[0][1] == ":" and parts[0][0].isalpha():
        raise refuse("drive-letter path")


def check_member(member: Member, *, path: str | None = None) -> None:
    """Raise :class:`UnsafeWheelError` for an unsafe name, an encrypted member, or a file type
    other than a regular file or directory (symlinks, devices, fifos)."""
    check_name(member.name, path=path)
    if member.encrypted:
        raise UnsafeWheelError("encrypted member", path=path, member=member.name)
    kind = stat.S_IFMT(member.mode)
    if kind == stat.S_IFLNK:
        raise UnsafeWheelError("symbolic link member", path=path, member=member.name)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeWheelError(
            f"special file member (mode {member.mode:o})", path=path, member=member.name
        )
    if kind == stat.S_IFDIR and not member.is_dir:
        raise UnsafeWheelError("directory mode on a file name", path=path, member=member.name)
