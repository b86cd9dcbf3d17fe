"""ELF notes: GNU build-id, GNU properties (x86 ISA level, CET features) and Android's
``.note.android.ident`` (the API level a file was built for)."""

from __future__ import annotations

from manywheel.elf.constants import AndroidNoteType, GnuProperty, NoteType
from manywheel.elf.layout import Layout
from manywheel.elf.model import AndroidIdent, GnuProperties

__all__ = [
    "Note",
    "parse_notes",
    "read_android_ident",
    "read_gnu_properties",
    "summarize_notes",
]

#: Bionic's ``NT_ANDROID_TYPE_IDENT`` (libc/private/bionic_asm_note.h, ``AndroidNoteType.IDENT``)
#: descriptor is an int32 API level, and since NDK r14 a 64-byte NDK version and a 64-byte NDK
#: build number, NUL-padded (libc/arch-common/bionic/crtbrand.S and the NDK's copy).
_NDK_FIELD = 64
# binutils < 2.32 used 0xc0000000/0xc0000001 for per-extension bits (CMOV, SSE, ...), not
# micro-architecture levels; they are deliberately not read as levels.

Note = tuple[bytes, int, bytes]  # (name without NUL, type, desc)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


def parse_notes(layout: Layout, data: bytes, alignment: int) -> list[Note]:
    """The notes in a PT_NOTE segment's bytes. A truncated or malformed tail is ignored, as the
    loader and readelf do (notes are advisory)."""
    align = 8 if alignment == 8 else 4
    notes: list[Note] = []
    offset = 0
    size = layout.nhdr.size
    while offset + size <= len(data):
        namesz, descsz, ntype = layout.nhdr.unpack_from(data, offset)
        name_at = offset + size
        desc_at = _align(name_at + namesz, align)
        end = desc_at + descsz
        if end > len(data):
            break
        notes.append((data[name_at : name_at + namesz].rstrip(b"\0"), ntype, data[desc_at:end]))
        offset = _align(end, align)
    return notes


def read_gnu_properties(layout: Layout, desc: bytes) -> GnuProperties:
    """The properties of one NT_GNU_PROPERTY_TYPE_0 note's descriptor."""
    values: dict[int, int] = {}
    align = layout.word_size
    offset = 0
    while offset + 8 <= len(desc):
        pr_type = layout.word.unpack_from(desc, offset)[0]
        pr_datasz = layout.word.unpack_from(desc, offset + 4)[0]
        data_at = offset + 8
        if data_at + pr_datasz > len(desc):
            break
        if pr_datasz == 4:
            values[pr_type] = values.get(pr_type, 0) | layout.word.unpack_from(desc, data_at)[0]
        offset = _align(data_at + pr_datasz, align)
    return GnuProperties(
        x86_isa_needed=values.get(GnuProperty.X86_ISA_1_NEEDED, 0),
        x86_isa_used=values.get(GnuProperty.X86_ISA_1_USED, 0),
        x86_feature_1_and=values.get(GnuProperty.X86_FEATURE_1_AND, 0),
    )


def read_android_ident(layout: Layout, desc: bytes) -> AndroidIdent | None:
    """The API level (and NDK version, when recorded) of an Android ident note's descriptor;
    ``None`` when it is too short to hold the level."""
    if len(desc) < 4:
        return None
    level = layout.word.unpack_from(desc, 0)[0]
    version = _text(desc[4 : 4 + _NDK_FIELD])
    build = _text(desc[4 + _NDK_FIELD : 4 + 2 * _NDK_FIELD])
    return AndroidIdent(level, version, build)


def _text(field: bytes) -> str | None:
    value = field.split(b"\0", 1)[0].decode("ascii", "replace")
    return value or None


def summarize_notes(
    layout: Layout, notes: list[Note]
) -> tuple[bytes | None, GnuProperties, AndroidIdent | None]:
    """(build-id, GNU properties, Android ident) from all notes of a file."""
    build_id: bytes | None = None
    props = GnuProperties()
    android: AndroidIdent | None = None
    for name, ntype, desc in notes:
        if name == b"Android" and ntype == AndroidNoteType.IDENT and android is None:
            android = read_android_ident(layout, desc)
        if name != b"GNU":
            continue
        if ntype == NoteType.GNU_BUILD_ID and build_id is None:
            build_id = desc
        elif ntype == NoteType.GNU_PROPERTY_TYPE_0:
            found = read_gnu_properties(layout, desc)
            props = GnuProperties(
                props.x86_isa_needed | found.x86_isa_needed,
                props.x86_isa_used | found.x86_isa_used,
                props.x86_feature_1_and | found.x86_feature_1_and,
            )
    return build_id, props, android
