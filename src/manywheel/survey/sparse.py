"""Reading only the parts of a big ELF member that the ELF reader uses, from a remote wheel.

The audit needs an ELF file's headers, its dynamic section and the tables that section points
to. The tables sit near the file's start, but the dynamic section lies behind the code and data
— most of the file — and a zip member is one deflate stream, normally read from its start. So:

1. **The head** is inflated from the member's start, as far as needed (the ELF and program
   headers first; then, once the dynamic section says where they are, the tables).
2. **The tail** is inflated from the middle of the stream: the first deflate block boundary
   after a chosen compressed offset is found by trying bit positions — a dynamic-Huffman or
   stored block header whose code tables are complete, then the whole decode to the member's
   exact end — and inflated to the end with an unknown 32 KiB window, twice: with a window of
   zero bytes and one of 0xFF bytes. A byte equal in both decodes is known; one that differs
   was copied from the unknown window. Offsets come from the end: the member's size is known.
3. **The answer** is the ELF reader's own (:func:`manywheel.elf.read_elf_stream`) on the file
   made of the head, the tail, and filler between them — run twice, the unknown bytes and the
   filler 0x00 in one run and 0xFF in the other. When both runs give the same facts, the facts
   do not depend on any byte that was not read. PT_DYNAMIC, PT_INTERP and the notes must
   moreover be read outright (filler there reads as "no entries" either way). Otherwise the
   head grows, or the tail grows backwards; after a few rounds, or when the parts meet, the
   whole member is read as usual.

Everything is checked: a stream that ends anywhere but at the member's last byte, a decode that
does not fit the member's size, an inflate past the declared size: the member is then read
whole, in order, with every check the audit makes. Never executed; memory is the head and the
tail, not the member.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from manywheel.elf import ByteStream, ElfClass, ElfData, ElfFile, SegmentType, read_elf_stream
from manywheel.errors import InvalidElfError, InvalidWheelError, UnsafeWheelError
from manywheel.survey.ranged import RangedFile
from manywheel.wheel import Member, WheelArchive, is_small

__all__ = ["SparseOptions", "TailDecode", "find_tail", "read_elf_sparse", "read_elf_whole"]

logger = logging.getLogger(__name__)

_WINDOW = 32 * 1024
_ZEROS = bytes(_WINDOW)
_ONES = b"\xff" * _WINDOW
#: The code length code's order (RFC 1951, 3.2.7).
_CLEN_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)
#: DT_HASH, DT_STRTAB, DT_SYMTAB, DT_GNU_HASH, DT_VERSYM, DT_VERDEF, DT_VERNEED; DT_STRSZ.
_DT_TABLES = (4, 5, 6, 0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFE)
_DT_STRTAB, _DT_STRSZ = 5, 10
_DT_VERSIONS = (0x6FFFFFFC, 0x6FFFFFFE)
_PT_LOAD, _PT_DYNAMIC = int(SegmentType.LOAD), int(SegmentType.DYNAMIC)


@dataclass(frozen=True, slots=True)
class SparseOptions:
    #: Members at most this big (compressed) are read whole.
    min_compressed: int = 256 * 1024
    #: The head inflated first (the ELF and program headers).
    first_head: int = 64 * 1024
    #: Bytes read from the start of a table whose size is not known (the version tables),
    #: four times more each round the facts still depend on bytes not read.
    table_room: int = 16 * 1024
    #: Compressed bytes searched for a block boundary.
    search: int = 256 * 1024
    #: Rounds of growing before the member is read whole.
    rounds: int = 6


# --- the head --------------------------------------------------------------------------------


class _Head:
    """The member's content from its start, inflated as far as asked."""

    def __init__(self, remote: RangedFile, member: Member, where: str) -> None:
        self._remote = remote
        self.member = member
        self._member = member
        self._where = where
        self._inflater = zlib.decompressobj(-15) if member.method == 8 else None
        self.data = bytearray()
        self.consumed = 0  # compressed bytes fed

    @property
    def done(self) -> bool:
        return len(self.data) >= self._member.file_size

    def extend(self, target: int) -> None:
        member = self._member
        target = min(target, member.file_size)
        if self._inflater is None:  # stored: the content is the compressed bytes
            if target > len(self.data):
                self.data += self._remote.pread(member.data_offset + len(self.data),
                                                target - len(self.data))  # fmt: skip
            return
        while len(self.data) < target and self.consumed < member.compressed_size:
            # as many compressed bytes as the ratio so far says the rest needs, and a bit more
            ratio = self.consumed / len(self.data) if self.data else 0.5
            take = int((target - len(self.data)) * ratio * 1.1) + 16 * 1024
            take = min(take, member.compressed_size - self.consumed)
            self._remote.fetch([(member.data_offset + self.consumed, take)])
            raw = self._remote.pread(member.data_offset + self.consumed, take)
            self.consumed += len(raw)
            self._feed(raw)

    def _feed(self, raw: bytes) -> None:
        assert self._inflater is not None
        room = self._member.file_size + 1 - len(self.data)
        try:
            out = self._inflater.decompress(raw, room)
        except zlib.error as e:
            raise InvalidWheelError(f"corrupt deflate data: {e}", path=self._where,
                                    member=self._member.name) from e  # fmt: skip
        if len(self.data) + len(out) > self._member.file_size or self._inflater.unconsumed_tail:
            raise UnsafeWheelError("inflates past its declared size (zip bomb)",
                                   path=self._where, member=self._member.name)  # fmt: skip
        self.data += out


# --- the tail: inflating from the middle of a deflate stream ---------------------------------


@dataclass(frozen=True, slots=True)
class TailDecode:
    """The member's content from ``start`` (uncompressed) to its end, inflated from the block
    that begins at bit ``bit`` of the compressed data: ``zeros`` and ``ones`` are the two
    decodes (equal where the bytes are known)."""

    bit: int
    start: int
    zeros: bytes
    ones: bytes


def _reversed(code: int, width: int) -> int:
    return int(f"{code:0{width}b}"[::-1], 2)


def _fixed_blocks(empty: int, literal: int | None) -> tuple[int, int]:
    """(bits, length) of ``empty`` empty fixed-Huffman blocks, then, with ``literal``, one
    block holding that literal (144-255: a 9-bit code), none of them the last."""
    value = length = 0

    def put(bits: int, width: int) -> None:
        nonlocal value, length
        value |= bits << length
        length += width

    for _ in range(empty):
        put(0b010, 3)  # BFINAL 0, BTYPE 01 (fixed), then end-of-block: seven zero bits
        put(0, 7)
    if literal is not None:
        put(0b010, 3)
        put(_reversed(0b110010000 + literal - 144, 9), 9)
        put(0, 7)
    return value, length


#: Per bit position 0-7: fixed blocks whose length has that remainder modulo 8, so that a block
#: found at that bit of a byte can be inflated with zlib keeping the stream's byte alignment
#: (stored blocks start at byte boundaries): (empty blocks, with a one-literal block).
_ALIGN = {0: (0, False), 1: (3, True), 2: (1, False), 3: (0, True),
          4: (2, False), 5: (1, True), 6: (3, False), 7: (2, True)}  # fmt: skip
#: The literal each of the two decodes puts before the stream (it joins the unknown window).
_LITERAL = {0: 0x90, 0xFF: 0xFF}


def _aligned(data: bytes, bit: int, filler: int) -> tuple[bytes, int]:
    """``data`` as a deflate stream starting at its bit ``bit``, byte alignment kept, and the
    number of output bytes to drop (the literal put before it)."""
    whole, rest = divmod(bit, 8)
    empty, with_literal = _ALIGN[rest]
    value, length = _fixed_blocks(empty, _LITERAL[filler] if with_literal else None)
    assert length % 8 == rest
    first = data[whole] & (0xFF << rest) & 0xFF if whole < len(data) else 0
    full = length // 8
    head = value.to_bytes(full + 1, "little")
    head = head[:full] + bytes([head[full] | first])
    return head + data[whole + 1 :], int(with_literal)


def _kraft_chunk(bits: int) -> int:
    """Kraft sum (in 1/128ths) of four 3-bit code lengths."""
    total = 0
    for i in range(4):
        length = (bits >> (3 * i)) & 7
        if length:
            total += 1 << (7 - length)
    return total


_KRAFT = tuple(_kraft_chunk(bits) for bits in range(1 << 12))


def _complete_code(bits: int, count: int) -> bool:
    """Whether the first ``count`` 3-bit code lengths of ``bits`` form a complete prefix code
    (zlib refuses any other code length code)."""
    bits &= (1 << (3 * count)) - 1
    total = 0
    while bits:
        total += _KRAFT[bits & 0xFFF]
        bits >>= 12
    return total == 128


def _candidates(data: bytes, limit: int) -> Iterator[int]:
    """Bit positions in ``data[:limit]`` where a deflate block header could begin: a dynamic
    Huffman block (not the last) with legal counts and a complete code length code, or a
    stored block whose length checks."""
    end = min(limit, len(data) - 12)
    for byte in range(max(0, end)):
        window = int.from_bytes(data[byte : byte + 12], "little")
        for shift in range(8):
            bits = window >> shift
            head = bits & 7
            if head == 4:  # BFINAL 0, BTYPE 2 (dynamic)
                if (bits >> 3) & 31 > 29 or (bits >> 8) & 31 > 29:
                    continue
                count = ((bits >> 13) & 15) + 4
                if _complete_code(bits >> 17, count):
                    yield byte * 8 + shift
            elif head == 0 and shift <= 5:  # BFINAL 0, BTYPE 0 (stored): LEN, ~LEN next byte
                length, check = (window >> 8) & 0xFFFF, (window >> 24) & 0xFFFF
                if length ^ check == 0xFFFF:
                    yield byte * 8 + shift


def _decode(data: bytes, bit: int, filler: int) -> bytes | None:
    """Inflate ``data`` from its bit ``bit`` to its end, the unknown window before it made of
    ``filler`` bytes; ``None`` unless that is a valid deflate stream ending in the last byte."""
    stream, skip = _aligned(data, bit, filler)
    inflater = zlib.decompressobj(-15, zdict=_ZEROS if filler == 0 else _ONES)
    try:
        out = inflater.decompress(stream)
    except zlib.error:
        return None
    if not inflater.eof or inflater.unused_data:
        return None
    return out[skip:]


def _plausible(data: bytes, bit: int) -> bool:
    """Whether inflating from bit ``bit`` of ``data`` goes without error for its first 4 KiB
    (a reference behind the start is expected: the window is unknown)."""
    probe, _ = _aligned(data[: bit // 8 + 4096], bit, 0)
    try:
        zlib.decompressobj(-15).decompress(probe)
    except zlib.error as e:
        if "too far back" not in str(e):
            return False
        try:
            zlib.decompressobj(-15, zdict=_ZEROS).decompress(probe)
        except zlib.error:
            return False
    return True


def find_tail(compressed: bytes, *, file_size: int, search: int) -> TailDecode | None:
    """Decode the end of a deflate stream from its middle: ``compressed`` is the stream from
    some byte to its very end; ``file_size`` its whole inflated size. ``None`` when no block
    boundary in the first ``search`` bytes leads to a valid decode."""
    for bit in _candidates(compressed, search):
        if not _plausible(compressed, bit):
            continue
        zeros = _decode(compressed, bit, 0)
        if zeros is None or len(zeros) > file_size:
            continue
        ones = _decode(compressed, bit, 0xFF)
        if ones is None or len(ones) != len(zeros):
            continue
        return TailDecode(bit, file_size - len(zeros), zeros, ones)
    return None


class _Tail:
    """The member's content from some point to its end."""

    def __init__(self, remote: RangedFile, member: Member, options: SparseOptions) -> None:
        self._remote = remote
        self._member = member
        self._options = options
        self.decode: TailDecode | None = None
        self.compressed_start = member.compressed_size

    @property
    def start(self) -> int:
        return self._member.file_size if self.decode is None else self.decode.start

    def cover(self, offset: int, floor: int) -> bool:
        """Decode from a block boundary before ``offset`` (uncompressed), searching from a
        compressed offset estimated from the member's compression ratio and moving back (the
        searched part doubling) until one covers it, but never before ``floor`` (compressed
        bytes the head has read: from there, the head is cheaper). False when none does."""
        member = self._member
        guess = member.compressed_size * offset // max(1, member.file_size)
        behind = member.compressed_size - guess + member.compressed_size // 20 + 64 * 1024
        while True:
            start = max(floor, member.compressed_size - behind)
            self._decode_from(start)
            if self.decode is not None and self.decode.start <= offset:
                return True
            if start == floor:
                return False
            behind *= 2

    def _decode_from(self, start: int) -> None:
        member = self._member
        self._remote.fetch([(member.data_offset + start, member.compressed_size - start)])
        compressed = self._remote.pread(member.data_offset + start, member.compressed_size - start)
        found = find_tail(compressed, file_size=member.file_size, search=self._options.search)
        self.compressed_start = start
        if found is not None:
            self.decode = found


# --- the ELF reader on a file made of pieces -------------------------------------------------


class _Pieces:
    """A file of ``size`` bytes: the head, then filler, then the tail (its decode for this
    filler), read forward as the ELF stream reader reads."""

    def __init__(self, size: int, head: bytes, tail_start: int, tail: bytes, filler: int) -> None:
        self._size = size
        self._head = head
        self._tail_start = max(tail_start, len(head))
        self._tail = memoryview(tail)[self._tail_start - tail_start :]
        self._filler = filler
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        end = self._size if size < 0 else min(self._size, self._pos + size)
        parts = []
        pos = self._pos
        if pos < len(self._head) and pos < end:
            part = self._head[pos : min(end, len(self._head))]
            parts.append(bytes(part))
            pos += len(part)
        if pos < self._tail_start and pos < end:
            gap = min(end, self._tail_start) - pos
            parts.append(bytes([self._filler]) * gap)
            pos += gap
        if pos < end:
            parts.append(bytes(self._tail[pos - self._tail_start : end - self._tail_start]))
            pos = end
        self._pos = pos
        return b"".join(parts)


def _parse(member: Member, head: bytes, tail: _Tail, filler: int) -> ElfFile | InvalidElfError:
    decode = tail.decode
    known = (decode.zeros if filler == 0 else decode.ones) if decode is not None else b""
    start = decode.start if decode is not None else member.file_size

    def stream() -> ByteStream:
        return _Pieces(member.file_size, head, start, known, filler)

    try:
        return read_elf_stream(stream(), size=member.file_size, name=member.name, reopen=stream)
    except InvalidElfError as e:
        return e


#: Segments whose bytes the ELF reader uses as they are: they must be read, not guessed.
_STRUCTURAL = frozenset(
    {int(SegmentType.DYNAMIC), int(SegmentType.INTERP), int(SegmentType.NOTE), 0x6474E553}
)  # PT_GNU_PROPERTY
_TABLE_ROOM = 64 * 1024


class _Parts:
    """What has been read of one member: the head and the tail, and what is known."""

    def __init__(self, head: _Head, tail: _Tail, options: SparseOptions) -> None:
        self.head = head
        self.tail = tail
        self.options = options
        self.member = head.member

    def known(self, start: int, end: int) -> bool:
        """Whether every byte of [start, end) has been read (in the tail: decoded the same
        with either window)."""
        start = max(start, len(self.head.data))
        if start >= end:
            return True
        decode = self.tail.decode
        if decode is None or start < decode.start:
            return False
        a, b = start - decode.start, end - decode.start
        return decode.zeros[a:b] == decode.ones[a:b]

    def reach(self, regions: list[tuple[int, int]]) -> bool:
        """Read the ``(start, end)`` regions: each by the head or by the tail, whichever reads
        less (estimated by position: the compression ratio is about even); the head once to
        the furthest, the tail once from the earliest. False when the tail cannot be found."""
        head_end = tail_from = None
        for start, end in regions:
            if start < len(self.head.data) or end - len(self.head.data) <= self.tail.start - start:
                head_end = max(end, head_end or 0)
            else:
                tail_from = min(start, tail_from if tail_from is not None else start)
        if head_end is not None:
            self.head.extend(head_end)
        if tail_from is None:
            return True
        return self.tail.cover(
            max(len(self.head.data), tail_from - _TABLE_ROOM), self.head.consumed
        )

    def parse(self, filler: int) -> ElfFile | InvalidElfError:
        return _parse(self.member, bytes(self.head.data), self.tail, filler)


def _structural(elf: ElfFile, size: int) -> list[tuple[int, int]]:
    return [
        (s.offset, min(size, s.offset + s.filesz))
        for s in elf.segments
        if s.p_type in _STRUCTURAL and s.filesz
    ]


def _table_regions(elf: ElfFile, parts: _Parts, room: int) -> list[tuple[int, int]]:
    """Where the tables PT_DYNAMIC points to lie (it is known by now), by the ELF stream
    reader's own rule: each from its start to the next table's start or its segment's end,
    the string table to DT_STRSZ; the version tables, whose size the entries do not give,
    ``room`` bytes (doubled each time the facts still depend on bytes not read)."""
    dynamic = next((s for s in elf.segments if s.p_type == _PT_DYNAMIC), None)
    if dynamic is None:
        return []
    raw = _bytes(parts, dynamic.offset, dynamic.offset + dynamic.filesz)
    wide = elf.header.elf_class == ElfClass.ELF64
    order = "<" if elf.header.data == ElfData.LSB else ">"
    entry = struct.Struct(order + ("qQ" if wide else "iI"))
    loads = [s for s in elf.segments if s.p_type == _PT_LOAD]
    starts: dict[int, tuple[int, int]] = {}
    string_size = None
    for tag, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
        if tag == 0:
            break
        if tag == _DT_STRSZ:
            string_size = value
        if tag in _DT_TABLES:
            for load in loads:
                if load.vaddr <= value < load.vaddr + load.filesz:
                    offset = value - load.vaddr + load.offset
                    starts[tag] = (offset, load.offset + load.filesz)
    ordered = sorted(o for o, _ in starts.values())
    regions = []
    for tag, (start, segment_end) in starts.items():
        later = [o for o in ordered if o > start]
        end = min([*later[:1], segment_end])
        if tag == _DT_STRTAB and string_size is not None:
            end = start + string_size
        elif tag in _DT_VERSIONS or not later:
            end = min(end, start + room)
        regions.append((start, min(end, parts.member.file_size)))
    return regions


def _bytes(parts: _Parts, start: int, end: int) -> bytes:
    head = parts.head.data
    if end <= len(head):
        return bytes(head[start:end])
    decode = parts.tail.decode
    assert decode is not None
    return decode.zeros[start - decode.start : end - decode.start]


def read_elf_sparse(
    archive: WheelArchive, member: Member, remote: RangedFile, options: SparseOptions
) -> ElfFile:
    """The facts of a big ELF member, reading only what they depend on (see the module
    docstring); the same facts the audit gets streaming the whole member."""
    parts = _Parts(_Head(remote, member, str(archive.path)), _Tail(remote, member, options),
                   options)  # fmt: skip
    parts.head.extend(options.first_head)
    room = options.table_room
    for _ in range(options.rounds):
        if parts.head.done or len(parts.head.data) >= parts.tail.start:
            break
        answer = _answer(parts, room)
        if isinstance(answer, ElfFile):
            logger.debug("%s: read %d + %d of %d bytes", member.name, len(parts.head.data),
                         member.file_size - parts.tail.start, member.file_size)  # fmt: skip
            return answer
        if answer is None:  # the facts depend on bytes not read: read further
            room *= 4
        elif not answer:
            break
    remote.fetch([(member.data_offset, member.compressed_size)])
    return read_elf_whole(archive, member)


def _answer(parts: _Parts, room: int) -> ElfFile | bool | None:
    """The facts, once they do not depend on any byte not read; else read more (``True``),
    ask for more room (``None``) or give up (``False``)."""
    zeros = parts.parse(0)
    if isinstance(zeros, InvalidElfError):  # the headers are not all read yet, say
        parts.head.extend(max(4 * len(parts.head.data), parts.options.first_head))
        return True
    size = parts.member.file_size
    missing = [r for r in _structural(zeros, size) if not parts.known(*r)]
    if missing:
        return parts.reach(missing)
    missing = [r for r in _table_regions(zeros, parts, room) if not parts.known(*r)]
    if missing:
        return parts.reach(missing)
    if zeros == parts.parse(0xFF):
        return zeros
    return None


def read_elf_whole(archive: WheelArchive, member: Member) -> ElfFile:
    """As the audit reads a member: a small one whole, in one step, a bigger one streamed
    (size and CRC checked either way), so the same problem gets the same error."""
    if is_small(member):
        data = archive.read_member(member)
        return read_elf_stream(io.BytesIO(data), size=member.file_size, name=member.name,
                               reopen=lambda: io.BytesIO(data))  # fmt: skip

    def reopen() -> ByteStream:
        return archive.open_member(member)

    with archive.open_member(member) as stream:
        elf = read_elf_stream(stream, size=member.file_size, name=member.name, reopen=reopen)
        stream.drain()
    return elf
