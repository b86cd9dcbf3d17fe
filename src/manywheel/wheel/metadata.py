"""The ``.dist-info`` files in email-header form: ``WHEEL`` and the name/version of ``METADATA``.

Also rewrites ``WHEEL``'s Tag lines textually, so every other line (and its order) survives a
retag byte for byte.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass

from manywheel.errors import InvalidWheelError

__all__ = ["MetadataIdentity", "WheelInfo", "parse_metadata_identity", "parse_wheel_info"]


@dataclass(frozen=True, slots=True)
class WheelInfo:
    """The ``WHEEL`` file."""

    wheel_version: tuple[int, ...]
    root_is_purelib: bool
    generator: str | None
    build: str | None
    #: The Tag lines, in file order.
    tags: tuple[str, ...]
    text: str

    def with_tags(self, tags: tuple[str, ...], *, purelib: bool | None = None) -> str:
        """The file's text with its Tag lines replaced by ``tags`` (written where the first Tag
        line was) and, when ``purelib`` is given, Root-Is-Purelib set to it."""
        lines = self.text.splitlines()
        out: list[str] = []
        placed = False
        for line in lines:
            key = line.split(":", 1)[0].strip().lower()
            if key == "tag":
                if not placed:
                    out.extend(f"Tag: {tag}" for tag in tags)
                    placed = True
                continue
            if key == "root-is-purelib" and purelib is not None:
                out.append(f"Root-Is-Purelib: {'true' if purelib else 'false'}")
            else:
                out.append(line)
        if not placed:
            blank = out.index("") if "" in out else len(out)
            out[blank:blank] = [f"Tag: {tag}" for tag in tags]
        return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True)
class MetadataIdentity:
    """The Name and Version fields of ``METADATA``."""

    name: str
    version: str


def _headers(text: str, member: str) -> email.message.Message:
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    message = parser.parsestr(text)
    if message.defects:
        raise InvalidWheelError(f"malformed headers: {message.defects[0]!r}", member=member)
    return message


def _one(message: email.message.Message, key: str, member: str) -> str:
    values = message.get_all(key) or []
    if len(values) != 1:
        raise InvalidWheelError(f"expected one {key} field, found {len(values)}", member=member)
    return str(values[0]).strip()


def parse_wheel_info(text: str, *, member: str = "WHEEL") -> WheelInfo:
    """Parse ``WHEEL``. Raises :class:`InvalidWheelError` when a required field is missing or
    malformed."""
    message = _headers(text, member)
    raw_version = _one(message, "Wheel-Version", member)
    try:
        version = tuple(int(part) for part in raw_version.split("."))
    except ValueError as e:
        raise InvalidWheelError(f"bad Wheel-Version {raw_version!r}", member=member) from e
    purelib = _one(message, "Root-Is-Purelib", member).lower()
    if purelib not in ("true", "false"):
        raise InvalidWheelError(f"bad Root-Is-Purelib {purelib!r}", member=member)
    generator = message.get("Generator")
    build = message.get("Build")
    return WheelInfo(
        wheel_version=version,
        root_is_purelib=purelib == "true",
        generator=None if generator is None else str(generator).strip(),
        build=None if build is None else str(build).strip(),
        tags=tuple(str(tag).strip() for tag in message.get_all("Tag") or []),
        text=text,
    )


def parse_metadata_identity(text: str, *, member: str = "METADATA") -> MetadataIdentity:
    """The Name and Version of a core metadata file (only the header block is read)."""
    message = _headers(text, member)
    return MetadataIdentity(
        name=_one(message, "Name", member), version=_one(message, "Version", member)
    )
