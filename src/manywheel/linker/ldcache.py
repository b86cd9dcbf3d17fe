"""Reading ``/etc/ld.so.cache`` as glibc's ``dl-cache.c`` does, without running ``ldconfig``.

Two formats exist: the old ``ld.so-1.7.0`` table (strings relative to its string table) and the
new ``glibc-ld.so.cache1.1`` table (strings relative to the start of the new header), optionally
with extensions (the glibc-hwcaps subdirectory names). Since glibc 2.32 ldconfig writes only the
new format; a file holding both ("compat") has the old table first and the new one after it, 8-byte
aligned, and the loader then uses the new one.
"""

from __future__ import annotations

import struct

from manywheel.errors import InputError
from manywheel.values import value_class

__all__ = ["CacheEntry", "LdCache", "parse_ld_cache"]

OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache1.1"
_OLD_HEADER = struct.Struct("<11sxI")  # magic, padding to 4, nlibs
_OLD_ENTRY = struct.Struct("<iII")  # flags, key, value
_NEW_HEADER_TAIL = struct.Struct("<IIB3xI12x")  # nlibs, len_strings, flags, extension_offset
_NEW_ENTRY_LE = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
_NEW_ENTRY_BE = struct.Struct(">iIIIQ")
_EXT_LE = struct.Struct("<II")
_EXT_BE = struct.Struct(">II")
_SECTION_LE = struct.Struct("<IIII")  # tag, flags, offset, size
_SECTION_BE = struct.Struct(">IIII")
_EXTENSION_MAGIC = 0xEAA42174  # (uint32_t) -358342284
_TAG_GLIBC_HWCAPS = 1
_HWCAP_EXTENSION = 1 << 62
_ENDIAN_LITTLE = 2
_ENDIAN_BIG = 3


@value_class
class CacheEntry:
    """One ``soname => path`` line of ``ldconfig -p``."""

    name: str
    path: str
    flags: int
    #: The glibc-hwcaps subdirectory the entry belongs to (``x86-64-v3``), if any.
    hwcaps: str | None = None


@value_class
class LdCache:
    """A parsed ld.so.cache: its entries in file order (ldconfig sorts them)."""

    format: str
    entries: tuple[CacheEntry, ...]

    def lookup(self, name: str, flags: int, hwcaps: tuple[str, ...] = ()) -> CacheEntry | None:
        """The entry the loader picks for ``name``: among entries whose flags are ``1`` or
        ``flags``, the one in the active glibc-hwcaps subdirectory that comes first in
        ``hwcaps`` (best first), else the first plain entry."""
        best: CacheEntry | None = None
        best_rank = len(hwcaps)
        for entry in self.entries:
            if entry.name != name or entry.flags not in (1, flags):
                continue
            if entry.hwcaps is None:
                if best is None:
                    best = entry
                continue
            if entry.hwcaps in hwcaps and hwcaps.index(entry.hwcaps) < best_rank:
                best, best_rank = entry, hwcaps.index(entry.hwcaps)
        return best


def _cstring(data: bytes, offset: int, where: str) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        raise InputError(f"string offset 0x{offset:x} is out of range", path=where)
    return data[offset:end].decode("utf-8", "surrogateescape")


def _parse_old(data: bytes, where: str) -> tuple[tuple[CacheEntry, ...], int]:
    _, nlibs = _OLD_HEADER.unpack_from(data, 0)
    table = _OLD_HEADER.size
    strings = table + nlibs * _OLD_ENTRY.size
    if strings > len(data):
        raise InputError(f"{nlibs} entries do not fit in {len(data)} bytes", path=where)
    raw = _OLD_ENTRY.iter_unpack(data[table:strings])
    entries = tuple(
        CacheEntry(_cstring(data, strings + k, where), _cstring(data, strings + v, where), f)
        for f, k, v in raw
    )
    return entries, strings


def _hwcaps_names(data: bytes, base: int, offset: int, big: bool, where: str) -> tuple[str, ...]:
    ext, section = (_EXT_BE, _SECTION_BE) if big else (_EXT_LE, _SECTION_LE)
    # Extension and section offsets count from the start of the file, strings from the new
    # header (the two differ only in the compat layout).
    start = offset
    if offset == 0 or start + ext.size > len(data):
        return ()
    magic, count = ext.unpack_from(data, start)
    if magic != _EXTENSION_MAGIC:
        return ()
    for index in range(count):
        tag, _, sec_offset, size = section.unpack_from(data, start + ext.size + index * 16)
        if tag == _TAG_GLIBC_HWCAPS:
            fmt = ">" if big else "<"
            offsets = struct.unpack_from(f"{fmt}{size // 4}I", data, sec_offset)
            return tuple(_cstring(data, base + o, where) for o in offsets)
    return ()


def _parse_new(data: bytes, base: int, where: str) -> tuple[CacheEntry, ...]:
    header_end = base + len(NEW_MAGIC)
    if header_end + _NEW_HEADER_TAIL.size > len(data):
        raise InputError("truncated header", path=where, offset=base)
    endian = data[header_end + 8]
    big = endian == _ENDIAN_BIG
    tail = struct.Struct((">" if big else "<") + _NEW_HEADER_TAIL.format[1:])
    nlibs, _, _, ext_offset = tail.unpack_from(data, header_end)
    table = header_end + tail.size
    end = table + nlibs * _NEW_ENTRY_LE.size
    if end > len(data):
        raise InputError(f"{nlibs} entries do not fit in {len(data)} bytes", path=where)
    names = _hwcaps_names(data, base, ext_offset, big, where)
    entry = _NEW_ENTRY_BE if big else _NEW_ENTRY_LE
    return tuple(
        CacheEntry(
            _cstring(data, base + key, where),
            _cstring(data, base + value, where),
            flags,
            _hwcaps_of(hwcap, names),
        )
        for flags, key, value, _, hwcap in entry.iter_unpack(data[table:end])
    )


def _hwcaps_of(hwcap: int, names: tuple[str, ...]) -> str | None:
    if hwcap >> 32 != _HWCAP_EXTENSION >> 32:
        return None
    index = hwcap & 0xFFFFFFFF
    return names[index] if index < len(names) else None


def parse_ld_cache(data: bytes, *, where: str = "ld.so.cache") -> LdCache:
    """Parse the bytes of an ld.so.cache. Raises :class:`~manywheel.errors.InputError` when they
    are not one (the loader would ignore such a file; callers decide)."""
    try:
        if data.startswith(NEW_MAGIC):
            return LdCache("new", _parse_new(data, 0, where))
        if data.startswith(OLD_MAGIC):
            old, strings = _parse_old(data, where)
            # The compat layout: the new table follows the old one's entries, 8-byte aligned
            # (the old strings come after the new table, so search from the entries' end).
            found = data.find(NEW_MAGIC, strings)
            while found >= 0 and found % 8:
                found = data.find(NEW_MAGIC, found + 1)
            if found >= 0:
                return LdCache("compat", _parse_new(data, found, where))
            return LdCache("old", old)
    except struct.error as exc:
        raise InputError(f"truncated ld.so.cache: {exc}", path=where) from exc
    raise InputError("not an ld.so.cache (bad magic)", path=where)
