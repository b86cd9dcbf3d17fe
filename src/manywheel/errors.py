"""The errors manywheel raises on purpose.

Every exception raised deliberately derives from :class:`ManywheelError`. Problems with what the
user gave us (a corrupt ELF file, a hostile zip, a broken policy file) also derive from
:class:`ValueError`, so library callers can treat them as bad values. Each error carries structured
fields saying *where* (path, wheel member, byte offset) and ``str()`` renders them as one line.

"This wheel is not manylinux_2_17" is never an exception: it is data in a report. Exceptions mean
the operation cannot proceed.
"""

from __future__ import annotations

__all__ = [
    "ElfEditError",
    "InputError",
    "InvalidElfError",
    "InvalidPolicyError",
    "InvalidWheelError",
    "ManywheelError",
    "NotPlatformWheelError",
    "ToolError",
    "UnsafeWheelError",
]


class ManywheelError(Exception):
    """Root of every error manywheel raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        member: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.member = member
        self.offset = offset

    @property
    def where(self) -> str:
        """``path``, ``path:member`` and/or ``@0xOFFSET``: the place the problem was found."""
        place = self.path or ""
        if self.member is not None:
            place = f"{place}:{self.member}" if place else self.member
        if self.offset is not None:
            place = f"{place} @0x{self.offset:x}" if place else f"@0x{self.offset:x}"
        return place

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message


class InputError(ManywheelError, ValueError):
    """What the user gave us cannot be used as it is."""


class InvalidElfError(InputError):
    """Bytes that should be an ELF file are not a valid one (truncated, bad offsets, bad magic)."""


class ElfEditError(InputError):
    """A valid ELF file that manywheel refuses to edit as asked, because it cannot do so safely
    (no dynamic section, an architecture no policy names, a layout with no room to grow)."""


class InvalidWheelError(InputError):
    """A file that should be a wheel is not a valid one (bad zip, name, metadata)."""


class UnsafeWheelError(InvalidWheelError):
    """A wheel that is refused because reading or writing it could do harm (path traversal,
    symlinks, encrypted members, zip bombs)."""


class InvalidPolicyError(InputError):
    """Policy data (shipped or a user's policy file) is malformed or inconsistent."""


class ToolError(ManywheelError):
    """An external tool manywheel needs (patchelf, strip) is missing, too old, or failed."""


class NotPlatformWheelError(ManywheelError):
    """The wheel has no ELF file for a platform: nothing to audit or repair (auditwheel exits 1)."""
