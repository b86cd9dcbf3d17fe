"""Wheels built by the tests themselves: well-formed ones with :mod:`zipfile`, hostile ones byte by
byte with :func:`raw_zip` (every header field can be made to lie)."""

from __future__ import annotations

import base64
import hashlib
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RawEntry", "raw_zip", "record_text", "wheel_files", "write_wheel"]

_LOCAL = struct.Struct("<L5H3L2H")
_CENTRAL = struct.Struct("<L6H3L5H2L")
_EOCD = struct.Struct("<L4H2LH")
_EOCD64 = struct.Struct("<LQ2H2L4Q")
_LOCATOR = struct.Struct("<LLQL")


def record_text(files: Mapping[str, bytes], record_name: str) -> str:
    lines = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}\n")
    return "".join(lines) + f"{record_name},,\n"


def wheel_files(
    files: Mapping[str, bytes],
    *,
    name: str = "demo",
    version: str = "1.0",
    tags: Sequence[str] = ("py3-none-any",),
    purelib: bool = True,
    record: bool = True,
) -> dict[str, bytes]:
    """``files`` plus a ``.dist-info`` with METADATA, WHEEL and (by default) a correct RECORD."""
    dist_info = f"{name}-{version}.dist-info"
    out = dict(files)
    out[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    wheel = "Wheel-Version: 1.0\nGenerator: tests\n"
    wheel += f"Root-Is-Purelib: {'true' if purelib else 'false'}\n"
    wheel += "".join(f"Tag: {tag}\n" for tag in tags)
    out[f"{dist_info}/WHEEL"] = wheel.encode()
    if record:
        out[f"{dist_info}/RECORD"] = record_text(out, f"{dist_info}/RECORD").encode()
    return out


def write_wheel(path: Path, files: Mapping[str, bytes], *, mode: int = 0o644) -> Path:
    """Write ``files`` as a deflated zip at ``path`` with :mod:`zipfile`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


@dataclass(frozen=True)
class RawEntry:
    """One member for :func:`raw_zip`; the optional fields make its headers lie."""

    name: bytes
    data: bytes
    deflate: bool = True
    flags: int = 0
    mode: int = 0o100644
    #: The uncompressed size written in both headers (default: the true size).
    declared_size: int | None = None
    #: A different name, CRC or method in the local header only.
    local_name: bytes | None = None
    local_crc: int | None = None
    #: Point this central directory entry at the local header of an earlier entry.
    reuse_header_of: int | None = None
    zip64: bool = False
    #: The member's bytes as stored (default: ``data``, deflated when ``deflate``).
    payload: bytes | None = None
    #: More extra fields in the local header only (whole fields: tag, size, body).
    local_extra: bytes = b""


def _extra64(*values: int) -> bytes:
    body = b"".join(struct.pack("<Q", v) for v in values)
    return struct.pack("<2H", 1, len(body)) + body


def raw_zip(entries: Sequence[RawEntry], *, force_zip64_end: bool = False) -> bytes:
    """A zip built field by field, so each test can make exactly one thing wrong."""
    out = bytearray()
    central = bytearray()
    offsets: list[int] = []
    for entry in entries:
        payload = _compress(entry.data) if entry.deflate else entry.data
        payload = payload if entry.payload is None else entry.payload
        crc = zlib.crc32(entry.data)
        size = len(entry.data) if entry.declared_size is None else entry.declared_size
        method = 8 if entry.deflate else 0
        if entry.reuse_header_of is None:
            offsets.append(len(out))
            local_name = entry.name if entry.local_name is None else entry.local_name
            local_crc = crc if entry.local_crc is None else entry.local_crc
            sizes = (0xFFFFFFFF, 0xFFFFFFFF) if entry.zip64 else (len(payload), size)
            extra = (_extra64(size, len(payload)) if entry.zip64 else b"") + entry.local_extra
            out += _LOCAL.pack(
                0x04034B50,
                20,
                entry.flags,
                method,
                0,
                0x5021,
                local_crc,
                *sizes,
                len(local_name),
                len(extra),
            )
            out += local_name + extra + payload
        else:
            offsets.append(offsets[entry.reuse_header_of])
        offset = offsets[-1]
        if entry.zip64:
            fields = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
            extra = _extra64(size, len(payload), offset)
        else:
            fields, extra = (len(payload), size, offset), b""
        central += _CENTRAL.pack(
            0x02014B50,
            3 << 8 | 45,
            20,
            entry.flags,
            method,
            0,
            0x5021,
            crc,
            fields[0],
            fields[1],
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            entry.mode << 16,
            fields[2],
        )
        central += entry.name + extra
    cd_offset = len(out)
    out += central
    if force_zip64_end:
        eocd64 = len(out)
        out += _EOCD64.pack(
            0x06064B50,
            _EOCD64.size - 12,
            45,
            45,
            0,
            0,
            len(entries),
            len(entries),
            len(central),
            cd_offset,
        )
        out += _LOCATOR.pack(0x07064B50, 0, eocd64, 1)
        out += _EOCD.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += _EOCD.pack(0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0)
    return bytes(out)


def _compress(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()
