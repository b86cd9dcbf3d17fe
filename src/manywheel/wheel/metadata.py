"""The ``.dist-info`` files in email-header form: ``WHEEL`` and the name/version of ``METADATA``.

Also rewrites ``WHEEL``'s Tag lines textually, so every other line (and its order) survives a
retag byte for byte.

The header block is read by :func:`read_headers`, which gives the values the standard library's
``email`` parser (policy ``compat32``) gives and refuses what it would flag as a defect; it
spares every run the ~6 ms of importing ``email``.
"""

from __future__ import annotations

import re

from manywheel.errors import InvalidWheelError
from manywheel.values import value_class

__all__ = ["MetadataIdentity", "WheelInfo", "parse_metadata_identity", "parse_wheel_info"]


@value_class
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


@value_class
class MetadataIdentity:
    """The Name and Version fields of ``METADATA``."""

    name: str
    version: str


_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
#: A line of a header block, as ``email`` tells one: an envelope line, a field (the name is
#: printable ASCII without the colon, RFC 5322's ftext), or a continuation.
_HEADER_LINE = re.compile(r"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")


class Headers:
    """The fields of a header block, by case-insensitive name, in file order."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get_all(self, name: str) -> list[str]:
        return list(self._fields.get(name.lower(), ()))

    def get(self, name: str) -> str | None:
        values = self._fields.get(name.lower())
        return values[0] if values else None


def read_headers(text: str, *, member: str) -> Headers:
    """The header block of ``text`` (up to the first empty line), read as ``email`` reads it.

    A field may continue on lines that start with a space or tab. An mbox envelope line
    (``From ...``) is skipped first and ends the block last. Anything ``email`` would flag as
    a defect (a line that is not ``Name: value``, an empty name, a continuation first, an
    envelope line among the fields) raises :class:`InvalidWheelError`."""
    pieces = _LINE_BREAK.split(text)  # line, its line break, line, ...
    lines = pieces[::2]
    block = 0  # the header block is lines[:block]
    while block < len(lines) and lines[block] and _HEADER_LINE.match(lines[block]):
        block += 1
    fields: dict[str, list[str]] = {}
    values: list[str] | None = None
    for index, line in enumerate(lines[:block]):
        number = index + 1
        if line[0] in " \t":
            if values is None:
                raise _malformed(member, number, "a continuation line comes first")
            values[-1] += pieces[2 * index - 1] + line  # folded: the line break is kept
            continue
        if line.startswith("From "):
            if index == 0:
                continue  # an envelope line
            if index == block - 1:
                break  # the body's first line
            raise _malformed(member, number, "an envelope ('From ') line among the fields")
        name, _, value = line.partition(":")
        if not name:
            raise _malformed(member, number, "a field without a name")
        values = fields.setdefault(name.lower(), [])
        values.append(value.lstrip(" \t"))
    if block < len(lines) and lines[block]:
        raise _malformed(member, block + 1, "not a 'Name: value' field")
    return Headers(fields)


def _malformed(member: str, number: int, why: str) -> InvalidWheelError:
    return InvalidWheelError(f"malformed headers: line {number}: {why}", member=member)


def _one(message: Headers, key: str, member: str) -> str:
    values = message.get_all(key)
    if len(values) != 1:
        raise InvalidWheelError(f"expected one {key} field, found {len(values)}", member=member)
    return str(values[0]).strip()


def parse_wheel_info(text: str, *, member: str = "WHEEL") -> WheelInfo:
    """Parse ``WHEEL``. Raises :class:`InvalidWheelError` when a required field is missing or
    malformed."""
    message = read_headers(text, member=member)
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
        tags=tuple(str(tag).strip() for tag in message.get_all("Tag")),
        text=text,
    )


def parse_metadata_identity(text: str, *, member: str = "METADATA") -> MetadataIdentity:
    """The Name and Version of a core metadata file (only the header block is read)."""
    message = read_headers(text, member=member)
    return MetadataIdentity(
        name=_one(message, "Name", member), version=_one(message, "Version", member)
    )
