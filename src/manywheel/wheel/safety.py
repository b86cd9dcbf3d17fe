"""What makes a member unsafe to read or install: its name, its file type, its encryption."""

from __future__ import annotations

import re
import stat

from manywheel.errors import UnsafeWheelError
from manywheel.wheel.zipformat import Member

__all__ = ["check_member", "check_name"]

_CONTROL = re.compile("[\x00-\x1f\x7f]")
#: A name that is certainly safe: relative components, none empty, "." or "..", no backslash or
#: control character, no drive letter. Anything else gets the checks that say what is wrong.
_SEGMENT = r"(?!\.\.?(?:/|$))[^/\\\x00-\x1f\x7f]+"
_SAFE = re.compile(rf"(?![^\W\d_]:){_SEGMENT}(?:/{_SEGMENT})*/?")


def check_name(name: str, *, path: str | None = None) -> None:
    """Raise :class:`UnsafeWheelError` unless ``name`` is a plain relative POSIX path that stays
    inside the wheel's root: no ``..`` or ``.`` components, no empty component, not absolute, no
    backslash, no NUL or other control character, no drive letter."""
    if _SAFE.fullmatch(name):
        return
    why = why_unsafe(name)
    if why is not None:
        raise UnsafeWheelError(f"unsafe member name: {why}", path=path, member=repr(name))


def why_unsafe(name: str) -> str | None:
    """What makes ``name`` unsafe, or None (the slow path of :func:`check_name`)."""
    if not name:
        return "empty"
    if _CONTROL.search(name):
        return "contains a NUL or control character"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/"):
        return "absolute path"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "'.', '..' or empty path component (would land outside the wheel's root)"
    if len(parts[0]) >= 2 and parts[0][1] == ":" and parts[0][0].isalpha():
        return "drive-letter path"
    return None


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
