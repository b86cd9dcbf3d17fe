"""Specific bad inputs: each raises InvalidElfError naming the file and what is wrong."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.elf import DynamicTag, SegmentType, parse_elf, read_elf
from manywheel.elf.layout import layout_for
from manywheel.errors import InvalidElfError
from tests.elf.conftest import CROSS

LIBUSER = CROSS / "ppc64" / "libuser.so"  # big-endian: byte order mistakes show
NOSHDR = CROSS / "ppc64" / "libuser-noshdr.so"  # counts come from the hash tables
LIBBASE = CROSS / "armv7l" / "libbase.so"  # 32-bit, with version definitions


def _dynamic_slot(data: bytes, tag: int) -> tuple[int, str, int]:
    """(file offset of tag's value, struct format of the value, file offset of what it points
    to) for the first dynamic entry with ``tag``."""
    elf = parse_elf(data)
    layout = layout_for(elf.header.elf_class, elf.header.data)
    assert layout is not None
    dyn = next(s for s in elf.segments if s.p_type == SegmentType.DYNAMIC)
    load = next(s for s in elf.segments if s.p_type == SegmentType.LOAD)
    for i in range(dyn.filesz // layout.dyn.size):
        at = dyn.offset + i * layout.dyn.size
        t, v = layout.dyn.unpack_from(data, at)
        if t == tag:
            return at + layout.word_size, layout.xword.format, v - load.vaddr + load.offset
    raise AssertionError(f"no tag {tag:#x}")


def _patch_tag(path: Path, tag: int, value: int) -> bytes:
    data = bytearray(path.read_bytes())
    at, fmt, _ = _dynamic_slot(bytes(data), tag)
    struct.pack_into(fmt, data, at, value)
    return bytes(data)


def _patch_at(path: Path, tag: int, rel: int, fmt: str, value: int) -> bytes:
    """Write ``value`` at ``rel`` bytes into the table ``tag`` points to."""
    data = bytearray(path.read_bytes())
    _, _, target = _dynamic_slot(bytes(data), tag)
    struct.pack_into(fmt, data, target + rel, value)
    return bytes(data)


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "not an ELF file"),
    "magic only": (lambda: b"\x7fELF\x02", "too short"),
    "text": (lambda: b"#!/bin/sh\necho hello\n", "not an ELF file"),
    "bad class": (lambda: b"\x7fELF\x03\x01\x01" + bytes(57), "invalid ELF class"),
    "bad data": (lambda: b"\x7fELF\x02\x00\x01" + bytes(57), "invalid ELF class"),
    "truncated header": (lambda: LIBUSER.read_bytes()[:40], "ELF header"),
    "truncated program headers": (lambda: LIBUSER.read_bytes()[:100], "program header"),
    "class mismatch": (
        lambda: LIBUSER.read_bytes()[:4] + b"\x01" + LIBUSER.read_bytes()[5:],
        "class and header disagree",
    ),
    "truncated tables": (lambda: LIBUSER.read_bytes()[:0x300], "past the end"),
    "strtab past the end": (
        lambda: _patch_tag(LIBUSER, DynamicTag.STRSZ, 2**40),
        "DT_STRTAB",
    ),
    "unmapped symtab": (lambda: _patch_tag(LIBUSER, DynamicTag.SYMTAB, 2**50), "DT_SYMTAB"),
    "absurd verneed count": (
        lambda: _patch_tag(LIBUSER, DynamicTag.VERNEEDNUM, 2**31),
        "version needs: count",
    ),
    "absurd vernaux count": (
        lambda: _patch_at(LIBUSER, DynamicTag.VERNEED, 2, ">H", 0xFFFF),
        "count 65535",
    ),
    "vernaux loop": (  # vna_next = 0 would end the chain; 4 walks into the record itself
        lambda: _patch_at(LIBUSER, DynamicTag.VERNEED, 16 + 12, ">I", 4),
        "overlaps",
    ),
    "verdef loop": (
        lambda: _patch_at(LIBBASE, DynamicTag.VERDEF, 16, "<I", 8),
        "overlaps",
    ),
    "bad verneed version": (
        lambda: _patch_at(LIBUSER, DynamicTag.VERNEED, 0, ">H", 7),
        "version 7",
    ),
    "name outside dynstr": (
        lambda: _patch_at(LIBUSER, DynamicTag.SYMTAB, 24 * 3, ">I", 0x7FFFFFFF),
        "string table",
    ),
    "gnu hash absurd buckets": (
        lambda: _patch_at(NOSHDR, DynamicTag.GNU_HASH, 0, ">I", 0x7FFFFFFF),
        "DT_GNU_HASH",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str) -> None:
    make, expected = CASES[case]
    with pytest.raises(InvalidElfError, match=expected) as info:
        parse_elf(make(), name="bad.so")
    assert info.value.path == "bad.so"
    assert str(info.value).startswith("bad.so")
    assert "\n" not in str(info.value)


def test_unterminated_gnu_hash_chain() -> None:
    """Clearing every chain word's end bit must not loop: the walk stops at the table's end."""
    data = bytearray(LIBUSER.read_bytes())
    _, _, at = _dynamic_slot(bytes(data), DynamicTag.GNU_HASH)
    nbuckets, symoffset, bloom, _ = struct.unpack_from(">IIII", data, at)
    chain = at + 16 + bloom * 8 + nbuckets * 4
    for i in range(64):
        struct.pack_into(">I", data, chain + 4 * i, 2)
    stripped = bytearray(data)
    struct.pack_into(">QHH", stripped, 0x28, 0, 0, 0)  # no sections: the count is the hash's
    struct.pack_into(">H", stripped, 0x3C, 0)
    try:
        elf = parse_elf(bytes(stripped), name="bad.so")
    except InvalidElfError as e:
        assert "DT_GNU_HASH" in str(e) or "DT_SYMTAB" in str(e)
    else:
        assert len(elf.symbols) > symoffset


def test_read_elf_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    with pytest.raises(InvalidElfError, match="empty") as info:
        read_elf(empty)
    assert info.value.path == str(empty)


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="not an ELF"):
        parse_elf(b"nope" * 20)
