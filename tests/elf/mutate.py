"""Where the structure of a real ELF file lives, so mutations can aim at it."""

from __future__ import annotations

from manywheel.elf import DynamicTag, SegmentType, parse_elf
from manywheel.elf.layout import layout_for

#: Values that break parsers: zero, one, boundaries of the integer widths.
INTERESTING = (
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    2**63,
    2**64 - 1,
)


def field_offsets(data: bytes) -> list[tuple[int, int]]:
    """(offset, width) of the header, program header, dynamic entry, version record and hash
    table fields of a valid ELF file."""
    elf = parse_elf(data)
    layout = layout_for(elf.header.elf_class, elf.header.data)
    assert layout is not None
    word = layout.word_size
    fields: list[tuple[int, int]] = [(4, 1), (5, 1), (16, 2), (18, 2)]
    ehdr_widths = [2, 2, 4, word, word, word, 4, 2, 2, 2, 2, 2, 2]
    at = 16
    for width in ehdr_widths:
        fields.append((at, width))
        at += width
    phoff = int.from_bytes(
        data[16 + 8 + word : 16 + 8 + 2 * word], "little" if layout.endian == "<" else "big"
    )
    for i, seg in enumerate(elf.segments):
        base = phoff + i * layout.phdr.size
        fields += [
            (base + k, 4 if layout.is64 and k < 8 else word)
            for k in range(0, layout.phdr.size, 4 if not layout.is64 else 8)
        ]
        if seg.p_type == SegmentType.DYNAMIC:
            for j in range(seg.filesz // layout.dyn.size):
                fields.append((seg.offset + j * layout.dyn.size + word, word))
        if seg.p_type == SegmentType.NOTE:
            fields += [(seg.offset + k, 4) for k in range(0, min(seg.filesz, 48), 4)]
    fields += _table_fields(data, elf, word)
    return [(o, w) for o, w in fields if o + w <= len(data)]


def _table_fields(data: bytes, elf: object, word: int) -> list[tuple[int, int]]:
    """Fields at the start of the tables the dynamic entries point to (version records, hash
    headers, the first symbols)."""
    from manywheel.elf import ElfFile

    assert isinstance(elf, ElfFile)
    loads = [s for s in elf.segments if s.p_type == SegmentType.LOAD]
    dyn = next((s for s in elf.segments if s.p_type == SegmentType.DYNAMIC), None)
    if dyn is None:
        return []
    layout = layout_for(elf.header.elf_class, elf.header.data)
    assert layout is not None
    raw = data[dyn.offset : dyn.offset + dyn.filesz]
    fields: list[tuple[int, int]] = []
    for tag, value in layout.dyn.iter_unpack(raw[: len(raw) - len(raw) % layout.dyn.size]):
        if tag not in (
            DynamicTag.VERNEED,
            DynamicTag.VERDEF,
            DynamicTag.GNU_HASH,
            DynamicTag.HASH,
            DynamicTag.SYMTAB,
            DynamicTag.VERSYM,
        ):
            continue
        for seg in loads:
            if seg.vaddr <= value < seg.vaddr + seg.filesz:
                start = seg.offset + value - seg.vaddr
                fields += [(start + k, 2 if k % 4 else 4) for k in range(0, 64, 2)]
    return fields
