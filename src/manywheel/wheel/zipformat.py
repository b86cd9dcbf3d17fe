"""The zip container as wheels use it, read from a file descriptor: the end of central directory
record (zip64 too), central directory entries and the local header each one points at.

Parsing only: no decompression here. Everything is read through a
:class:`~manywheel.wheel.source.RangeReader` (``os.pread`` on a descriptor for a local file) so
several member streams can share one file. Structural impossibilities (truncation, out-of-range
offsets, overlapping members, multi-disk archives) raise; differences between a central
directory entry and its local header are returned as data so ``verify`` can report them.
"""

from __future__ import annotations

import itertools
import struct
from enum import IntEnum, IntFlag
from typing import NamedTuple

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.values import value_class
from manywheel.wheel.source import RangeReader

__all__ = [
    "CENTRAL",
    "EOCD",
    "EOCD64",
    "EOCD64_LOCATOR",
    "EXTRA_HEADER",
    "LOCAL",
    "ZIP64_LIMIT",
    "Flag",
    "HeaderMismatch",
    "Member",
    "Method",
    "Signature",
    "dos_to_epoch",
    "epoch_to_dos",
    "read_directory",
]

EOCD = struct.Struct("<L4H2LH")
EOCD64_LOCATOR = struct.Struct("<LLQL")
EOCD64 = struct.Struct("<LQ2H2L4Q")
CENTRAL = struct.Struct("<L6H3L5H2L")
LOCAL = struct.Struct("<L5H3L2H")
EXTRA_HEADER = struct.Struct("<2H")
_U64 = struct.Struct("<Q")

ZIP64_LIMIT = 0xFFFFFFFF
_ZIP64_EXTRA_ID = 0x0001
_MAX_COMMENT = 0xFFFF
_UNIX = 3


class Signature(IntEnum):
    LOCAL = 0x04034B50
    CENTRAL = 0x02014B50
    EOCD = 0x06054B50
    EOCD64 = 0x06064B50
    EOCD64_LOCATOR = 0x07064B50
    DESCRIPTOR = 0x08074B50


class Method(IntEnum):
    STORED = 0
    DEFLATED = 8


class Flag(IntFlag):
    ENCRYPTED = 1 << 0
    DESCRIPTOR = 1 << 3
    STRONG_ENCRYPTION = 1 << 6
    UTF8 = 1 << 11
    MASKED_HEADERS = 1 << 13


_ENCRYPTION_FLAGS = int(Flag.ENCRYPTED | Flag.STRONG_ENCRYPTION | Flag.MASKED_HEADERS)
_ENCRYPTED = int(Flag.ENCRYPTED)
_DESCRIPTOR = int(Flag.DESCRIPTOR)
_LOCAL_SIG = int(Signature.LOCAL)
_CENTRAL_SIG = int(Signature.CENTRAL)
_UTF8 = int(Flag.UTF8)
_CENTRAL_SIZE = CENTRAL.size
_LOCAL_SIZE = LOCAL.size
_unpack_central = CENTRAL.unpack_from
_unpack_local = LOCAL.unpack_from


@value_class
class Member:
    """One central directory entry, checked against its local header."""

    name: str
    #: Position in the central directory (archive order).
    index: int
    method: int
    flags: int
    crc: int
    compressed_size: int
    file_size: int
    #: Offset of the local file header, and of the first byte of the (compressed) data.
    header_offset: int
    data_offset: int
    #: The zip "version made by" host byte (3 = Unix) and the 32-bit external attributes.
    create_system: int
    external_attr: int
    #: MS-DOS date (high 16 bits) and time (low 16 bits), as stored.
    dos_datetime: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")

    @property
    def mode(self) -> int:
        """The Unix ``st_mode`` recorded for the member, or 0 when the archive records none."""
        return (self.external_attr >> 16) & 0xFFFF if self.create_system == _UNIX else 0

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & _ENCRYPTION_FLAGS)


@value_class
class HeaderMismatch:
    """A field on which a central directory entry and its local header disagree."""

    member: str
    field: str
    central: str
    local: str


@value_class
class _End:
    entries: int
    cd_size: int
    cd_offset: int
    #: Where the central directory must end: the zip64 end record, or the classic one.
    cd_end: int


def _pread(reader: RangeReader, size: int, offset: int, path: str) -> bytes:
    data = reader.pread(offset, size)
    if len(data) != size:
        raise InvalidWheelError("truncated zip file", path=path, offset=offset)
    return data


def _find_end(reader: RangeReader, file_size: int, path: str) -> _End:
    tail_size = min(file_size, EOCD.size + _MAX_COMMENT)
    tail = _pread(reader, tail_size, file_size - tail_size, path)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if pos + EOCD.size <= tail_size:
            fields = EOCD.unpack_from(tail, pos)
            if pos + EOCD.size + fields[7] == tail_size:
                return _end_from(reader, fields, file_size - tail_size + pos, path)
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    raise InvalidWheelError("not a zip file (no end of central directory record)", path=path)


def _end_from(reader: RangeReader, fields: tuple[int, ...], eocd_offset: int, path: str) -> _End:
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = fields
    if disk != 0 or cd_disk != 0:
        raise InvalidWheelError("multi-disk zip archives are not supported", path=path)
    locator_offset = eocd_offset - EOCD64_LOCATOR.size
    if locator_offset >= 0:
        locator = _pread(reader, EOCD64_LOCATOR.size, locator_offset, path)
        sig, _, eocd64_offset, _ = EOCD64_LOCATOR.unpack(locator)
        if sig == Signature.EOCD64_LOCATOR:
            return _end64(reader, eocd64_offset, locator_offset, path)
    if cd_offset + cd_size != eocd_offset:
        raise InvalidWheelError(
            "central directory does not end where the end record begins "
            "(data prepended to the zip, or a corrupt directory)",
            path=path,
            offset=eocd_offset,
        )
    return _End(entries, cd_size, cd_offset, eocd_offset)


def _end64(reader: RangeReader, offset: int, locator_offset: int, path: str) -> _End:
    if offset + EOCD64.size > locator_offset:
        raise InvalidWheelError("zip64 end record out of range", path=path, offset=offset)
    fields = EOCD64.unpack(_pread(reader, EOCD64.size, offset, path))
    sig, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset = fields
    if sig != Signature.EOCD64:
        raise InvalidWheelError("bad zip64 end record signature", path=path, offset=offset)
    if disk != 0 or cd_disk != 0:
        raise InvalidWheelError("multi-disk zip archives are not supported", path=path)
    if cd_offset + cd_size != offset:
        raise InvalidWheelError(
            "central directory does not end where the zip64 end record begins",
            path=path,
            offset=offset,
        )
    return _End(entries, cd_size, cd_offset, offset)


def _zip64_values(extra: bytes, wanted: list[bool], path: str, name: str) -> list[int | None]:
    """Values of the zip64 extra field, in its fixed order, for the fields flagged ``wanted``."""
    if not extra and not any(wanted):
        return [None] * len(wanted)
    pos = 0
    while pos + EXTRA_HEADER.size <= len(extra):
        tag, size = EXTRA_HEADER.unpack_from(extra, pos)
        body = extra[pos + EXTRA_HEADER.size : pos + EXTRA_HEADER.size + size]
        if len(body) != size:
            raise InvalidWheelError("extra field overruns its record", path=path, member=name)
        if tag == _ZIP64_EXTRA_ID:
            return _take_zip64(body, wanted, path, name)
        pos += EXTRA_HEADER.size + size
    if any(wanted):
        raise InvalidWheelError("zip64 values needed but no zip64 extra", path=path, member=name)
    return [None] * len(wanted)


def _take_zip64(body: bytes, wanted: list[bool], path: str, name: str) -> list[int | None]:
    values: list[int | None] = []
    pos = 0
    for want in wanted:
        if not want:
            values.append(None)
            continue
        if pos + _U64.size > len(body):
            raise InvalidWheelError("zip64 extra field too short", path=path, member=name)
        values.append(_U64.unpack_from(body, pos)[0])
        pos += _U64.size
    return values


def _decode_name(raw: bytes, flags: int, path: str) -> str:
    try:
        return raw.decode("utf-8") if flags & _UTF8 else raw.decode("cp437")
    except UnicodeDecodeError as e:
        raise InvalidWheelError(f"member name is not valid UTF-8: {raw!r}", path=path) from e


class _Central(NamedTuple):
    """A central directory entry, before its local header is read."""

    name: str
    raw_name: bytes
    method: int
    flags: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int
    create_system: int
    external_attr: int
    dos_datetime: int


def _parse_central(data: bytes, pos: int, path: str) -> tuple[_Central, int]:
    if pos + _CENTRAL_SIZE > len(data):
        raise InvalidWheelError("central directory truncated", path=path)
    (
        sig,
        made_by,
        _,
        flags,
        method,
        time,
        date,
        crc,
        csize,
        usize,
        name_len,
        extra_len,
        comment_len,
        disk,
        _,
        ext_attr,
        offset,
    ) = _unpack_central(data, pos)
    if sig != _CENTRAL_SIG:
        raise InvalidWheelError("bad central directory entry signature", path=path)
    name_at = pos + _CENTRAL_SIZE
    end = name_at + name_len + extra_len + comment_len
    if end > len(data):
        raise InvalidWheelError("central directory entry overruns the directory", path=path)
    raw_name = data[name_at : name_at + name_len]
    # (an ASCII name reads the same in UTF-8 and cp437)
    name = raw_name.decode("ascii") if raw_name.isascii() else _decode_name(raw_name, flags, path)
    if extra_len or ZIP64_LIMIT in (usize, csize, offset) or disk == 0xFFFF:
        extra = data[name_at + name_len : name_at + name_len + extra_len]
        wanted = [usize == ZIP64_LIMIT, csize == ZIP64_LIMIT, offset == ZIP64_LIMIT, disk == 0xFFFF]
        big = _zip64_values(extra, wanted, path, name)
        disk = big[3] if big[3] is not None else disk
        csize = csize if big[1] is None else big[1]
        usize = usize if big[0] is None else big[0]
        offset = offset if big[2] is None else big[2]
    if disk != 0:
        raise InvalidWheelError("multi-disk zip archives are not supported", path=path)
    central = _Central(
        name,
        raw_name,
        method,
        flags,
        crc,
        csize,
        usize,
        offset,
        made_by >> 8,
        ext_attr,
        (date << 16) | time,
    )
    return central, end


def _local_guess(c: _Central, cd_offset: int) -> int:
    """How many bytes of a local header to read at once: its fixed part, the name, and room for
    a typical extra field."""
    return min(_LOCAL_SIZE + len(c.raw_name) + 64, cd_offset - c.header_offset)


def _attach_local(
    reader: RangeReader,
    c: _Central,
    *,
    index: int,
    cd_offset: int,
    path: str,
    mismatches: list[HeaderMismatch],
    headers: list[bytes | None] | None = None,
) -> Member:
    header_offset = c.header_offset
    if header_offset + _LOCAL_SIZE > cd_offset:
        raise InvalidWheelError("local header out of range", path=path, member=c.name)
    head = _pread(reader, _local_guess(c, cd_offset), header_offset, path)
    sig, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _unpack_local(head)
    # (timestamps may legitimately differ: extended timestamp extras)
    if sig != _LOCAL_SIG:
        raise InvalidWheelError(
            "bad local header signature", path=path, member=c.name, offset=header_offset
        )
    header_size = _LOCAL_SIZE + name_len + extra_len
    header: bytes | None
    if len(head) >= header_size:
        header = head[:header_size] if len(head) > header_size else head
        names_and_extra = header[_LOCAL_SIZE:]
    else:  # (a long extra field: read it, but keep no copy of it)
        header = None
        names_and_extra = _pread(reader, name_len + extra_len, header_offset + _LOCAL_SIZE, path)
    data_offset = header_offset + header_size
    if data_offset + c.compressed_size > cd_offset:
        raise InvalidWheelError("member data runs past its end", path=path, member=c.name)
    if headers is not None:
        headers.append(header)
    if (
        method == c.method
        and not (flags ^ c.flags) & _ENCRYPTED
        and names_and_extra.startswith(c.raw_name)
        and name_len == len(c.raw_name)
        and (
            flags & _DESCRIPTOR
            or (
                not extra_len
                and crc == c.crc
                and csize == c.compressed_size
                and usize == c.file_size
                and ZIP64_LIMIT not in (csize, usize)
            )
        )
    ):
        pass  # (the usual case: the headers agree, nothing to look at more closely)
    else:
        _compare_local(
            c, flags, method, crc, csize, usize, names_and_extra, name_len, path, mismatches
        )
    return Member(
        c.name,
        index,
        c.method,
        c.flags,
        c.crc,
        c.compressed_size,
        c.file_size,
        header_offset,
        data_offset,
        c.create_system,
        c.external_attr,
        c.dos_datetime,
    )


def _compare_local(  # noqa: PLR0917 - one header's fields
    c: _Central,
    flags: int,
    method: int,
    crc: int,
    csize: int,
    usize: int,
    names_and_extra: bytes,
    name_len: int,
    path: str,
    mismatches: list[HeaderMismatch],
) -> None:
    """The fields on which a local header disagrees with its central directory entry."""
    local_name = names_and_extra[:name_len]
    found: list[tuple[str, object, object]] = []
    if local_name != c.raw_name:
        found.append(("name", c.raw_name, local_name))
    if method != c.method:
        found.append(("method", c.method, method))
    if (flags ^ c.flags) & _ENCRYPTED:
        found.append(("encryption flag", c.flags & _ENCRYPTED, flags & _ENCRYPTED))
    if not flags & _DESCRIPTOR:
        extra = names_and_extra[name_len:]
        big = _zip64_values(extra, [usize == ZIP64_LIMIT, csize == ZIP64_LIMIT], path, c.name)
        csize = csize if big[1] is None else big[1]
        usize = usize if big[0] is None else big[0]
        if crc != c.crc:
            found.append(("crc", f"{c.crc:08x}", f"{crc:08x}"))
        if csize != c.compressed_size:
            found.append(("compressed size", c.compressed_size, csize))
        if usize != c.file_size:
            found.append(("file size", c.file_size, usize))
    mismatches.extend(HeaderMismatch(c.name, f, str(a), str(b)) for f, a, b in found)


def _check_overlaps(members: list[Member], path: str) -> None:
    ordered = sorted(members, key=lambda m: m.header_offset)
    for before, after in itertools.pairwise(ordered):
        if before.data_offset + before.compressed_size > after.header_offset:
            raise UnsafeWheelError(
                f"member data overlaps {after.name!r} (overlapping entries are a zip bomb trick)",
                path=path,
                member=before.name,
            )


def read_directory(
    reader: RangeReader, path: str, *, headers: list[bytes | None] | None = None
) -> tuple[tuple[Member, ...], tuple[HeaderMismatch, ...]]:
    """Every member of the zip ``reader`` reads, in central directory order, and the header
    mismatches found on the way. Raises :class:`InvalidWheelError` for a file that is not a
    readable zip, :class:`UnsafeWheelError` for overlapping members.

    ``headers``, if given, gets each member's local header as it is in the file (fixed part,
    name and extra field; ``None`` for one whose extra field is too long to keep), in order.

    Between the central directory and the local headers, ``reader.will_need`` is told where
    the local headers lie (a remote reader fetches them together)."""
    end = _find_end(reader, reader.size, path)
    data = _pread(reader, end.cd_size, end.cd_offset, path)
    entries: list[_Central] = []
    pos = 0
    while pos < len(data):
        entry, pos = _parse_central(data, pos, path)
        entries.append(entry)
    reader.will_need((c.header_offset, _local_guess(c, end.cd_offset)) for c in entries)
    mismatches: list[HeaderMismatch] = []
    members = [
        _attach_local(
            reader,
            entry,
            index=i,
            cd_offset=end.cd_offset,
            path=path,
            mismatches=mismatches,
            headers=headers,
        )
        for i, entry in enumerate(entries)
    ]
    if len(members) != end.entries:
        raise InvalidWheelError(
            f"end record says {end.entries} entries, central directory has {len(members)}",
            path=path,
        )
    _check_overlaps(members, path)
    return tuple(members), tuple(mismatches)


def dos_to_epoch(dos_datetime: int) -> int:
    """Seconds since the epoch for an MS-DOS date and time, read as UTC (0 when invalid)."""
    from datetime import datetime, timezone  # (only the writer needs it: not at start-up)

    date, time = dos_datetime >> 16, dos_datetime & 0xFFFF
    try:
        moment = datetime(
            1980 + (date >> 9),
            (date >> 5) & 0xF,
            date & 0x1F,
            time >> 11,
            (time >> 5) & 0x3F,
            min((time & 0x1F) * 2, 59),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return 0
    return int(moment.timestamp())


#: The first and last second zip's MS-DOS times can say (UTC).
_DOS_FIRST = 315532800  # 1980-01-01 00:00:00
_DOS_LAST = 4354819198  # 2107-12-31 23:59:58


def epoch_to_dos(seconds: int) -> int:
    """MS-DOS date and time (UTC) for ``seconds``, clamped to the range zip can store:
    1980-01-01 00:00:00 to 2107-12-31 23:59:58 (any integer, however large or negative)."""
    from datetime import datetime, timezone

    if seconds <= _DOS_FIRST:
        return (1 << 5 | 1) << 16  # 1980-01-01 00:00:00
    moment = datetime.fromtimestamp(min(seconds, _DOS_LAST), tz=timezone.utc)
    date = (moment.year - 1980) << 9 | moment.month << 5 | moment.day
    time = moment.hour << 11 | moment.minute << 5 | moment.second // 2
    return date << 16 | time
