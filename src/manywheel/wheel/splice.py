"""Re-deflate a member of which a few bytes changed, reusing its compressed stream.

A deflate stream is a run of blocks, each a header (for a dynamic block, its Huffman code
tables) and a run of codes: literals and back-references that reach at most 32 KiB back into
the output. When an edit writes a few bytes over a member (an ELF editor rewriting a string in
place), every code before the changes, and every code after them that reads none of the changed
bytes, decodes exactly as before — so only the few codes around each change are made again:

- the original stream is kept up to the last code that ends before the change; the block that
  code is in is closed there with its own end-of-block code (read from its header);
- the changed content, from that code to the first code after the change, is deflated again
  (the 32 KiB before it as the compressor's dictionary), ending on a byte (Z_SYNC_FLUSH);
- the original stream is taken up again at that code: the header of the block it is in is
  written once more (the same code tables, so the same bits decode the same way), and the
  original's bits from that code on are copied after it.

A copy of the original's bits must start at the same position within its byte as in the
original (it is copied byte for byte but for its first byte): empty blocks get there from any
position — a fixed one adds 10 bits, a dynamic one of our own 95 — and an empty stored block
ends on a byte.

A code taken up after a change may read the changed bytes (a back-reference into them). The
result is therefore inflated again until 32 KiB (plus the longest match) past the last change
and compared with the edited content; the first byte that differs is the output of such a code,
and the content deflated again grows past it, until none differs (from there on the decoder
reads the original's bits with the original's window: the rest decodes as it did). The block
boundaries and the codes' bit positions come from zlib's own inflate (through ``ctypes``,
:mod:`manywheel.wheel.deflate_blocks`). The content's sha256 and CRC-32 are computed from its
pieces. When libz cannot be loaded or anything is not as expected, :func:`splice` returns
``None`` and the caller deflates the whole content as before.

For torch's test programs (600 KB each, a RUNPATH of 66 bytes written over near the start),
this deflates a few hundred bytes of each member again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

from manywheel.wheel import stream as member_stream
from manywheel.wheel.deflate_blocks import BlockHeader, Scan, block_header, cut, scan

__all__ = ["SplicedStream", "inflate", "splice"]

logger = logging.getLogger(__name__)

WINDOW = 32768
#: The longest a single code's output can be (a match of 258 bytes).
LONGEST = 258
#: Changes closer than this are deflated again as one.
_JOIN = 1024
#: How many times the result may be made again, each time with the codes taken up that read a
#: change made again too.
_ATTEMPTS = 8
#: Empty blocks (value, bit count), deflate's bit order: a fixed one, and a dynamic one whose
#: only code is end-of-block, with 19 code-length code lengths (95 bits).
_EMPTY_FIXED = (0b010, 10)
_EMPTY_DYNAMIC = (0x1F5BF820000000000881E004, 95)


def _crc_module() -> ModuleType:
    return member_stream.inflate_module()  # isal's crc32 is the same function, several times faster


@dataclass(frozen=True, slots=True)
class SplicedStream:
    """A raw deflate stream and what it inflates to: sha256, CRC-32, size."""

    data: bytes
    sha256: bytes
    crc: int
    size: int


def inflate(raw: bytes, size: int, crc: int) -> bytes | None:
    """The ``size`` bytes the raw deflate stream ``raw`` inflates to, if they have CRC-32
    ``crc`` (``None`` otherwise)."""
    z = member_stream.inflate_module()  # (looked up each time: tests switch it)
    try:  # one output buffer, one byte larger than needed: no block joined, no copy
        data = z.decompress(raw, -15, size + 1)
    except z.error:  # (a stream that does not end is one)
        return None
    if len(data) != size or _crc_module().crc32(data) != crc:
        return None
    return bytes(data)


class _Bits:
    """A little-endian bit string being built (deflate's bit order)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.count = 0

    def copy(self, raw: bytes, start: int, end: int) -> None:
        """Append bits [start, end) of ``raw``, which must start at the same position within
        their byte as the string's end."""
        if end <= start:
            return
        shift = self.count % 8
        assert shift == start % 8
        first, stop = start // 8, (end + 7) // 8
        if shift:
            keep = (1 << shift) - 1
            self.out[-1] = (self.out[-1] & keep) | (raw[first] & ~keep & 0xFF)
            self.out += memoryview(raw)[first + 1 : stop]
        else:
            self.out += memoryview(raw)[first:stop]
        self.count += end - start
        if self.count % 8:  # clear the bits copied past ``end``
            self.out[-1] &= (1 << (self.count % 8)) - 1

    def value(self, value: int, bits: int) -> None:
        """Append the low ``bits`` bits of ``value``."""
        shift = self.count % 8
        if shift:
            value = (value << shift) | (self.out.pop() & ((1 << shift) - 1))
        self.out += value.to_bytes((bits + shift + 7) // 8, "little")
        self.count += bits

    def bits(self, raw: bytes, start: int, end: int) -> None:
        """Append bits [start, end) of ``raw`` at any position (a block header: short)."""
        first = start // 8
        whole = int.from_bytes(raw[first : (end + 7) // 8], "little") >> (start % 8)
        self.value(whole & ((1 << (end - start)) - 1), end - start)

    def whole(self, data: bytes) -> None:
        """Append whole bytes (the string must end on a byte)."""
        assert self.count % 8 == 0
        self.out += data
        self.count += 8 * len(data)

    def pad_to(self, position: int) -> None:
        """Append empty blocks until the string ends at ``position`` within a byte."""
        if self.count % 8:  # an empty stored block: 3 header bits, padding, LEN and NLEN
            self.value(0, 3)
            self.value(0, -self.count % 8)
            self.value(0xFFFF0000, 32)
        if position % 2:
            self.value(*_EMPTY_DYNAMIC)
        while self.count % 8 != position % 8:
            self.value(*_EMPTY_FIXED)


def _patched(data: bytes, patches: Sequence[tuple[int, bytes]], lo: int, hi: int) -> bytes:
    out = bytearray(data[lo:hi])
    for offset, raw in patches:
        a, b = max(offset, lo), min(offset + len(raw), hi)
        if a < b:
            out[a - lo : b - lo] = raw[a - offset : b - offset]
    return bytes(out)


@dataclass(frozen=True, slots=True)
class _Cut:
    """Where a run of the original's bits ends, before content deflated again: the original is
    kept up to bit ``bit`` (output position ``at``); ``header``: the block being cut there, to
    be closed with its end-of-block code (``None``: ``bit`` is a block boundary)."""

    bit: int
    at: int
    block: int = 0
    header: tuple[int, int, bool] | None = None  # (eob value, eob bits, final)


@dataclass(frozen=True, slots=True)
class _Resume:
    """Where the original's bits are taken up again after content deflated again: at bit
    ``bit`` (output position ``at``), after the header of its block (bits [header[0],
    header[1]) of the original, written again; ``None``: ``bit`` is a block boundary)."""

    bit: int
    at: int
    header: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class _Join:
    """Content deflated again, [cut.at, resume.at) (no resume: to the end)."""

    cut: _Cut
    resume: _Resume | None


class _Unknown(Exception):
    """A position past the blocks whose ends were read."""


class _Stream:
    """The original stream's blocks (bit position, output position of each boundary), and
    the original content, for finding where to cut it and take it up again."""

    def __init__(self, raw: bytes, data: bytes, found: Scan) -> None:
        self.raw, self.data = raw, data
        self._headers: dict[int, BlockHeader | None] = {}
        self._cuts: dict[tuple[int, int], tuple[int, int] | None] = {}
        self._marks = dict(found.marks)
        #: Where each block starts (the one that writes output, after any empty ones).
        self.bits, self.bounds = [0], [0]
        for bit, at in found.ends:
            if at == self.bounds[-1]:
                self.bits[-1] = bit
            else:
                self.bits.append(bit)
                self.bounds.append(at)
        if self.bounds[-1] >= len(data):  # the last block runs to the end of the stream
            self.bits[-1] = 8 * len(raw)

    def block_of(self, position: int) -> int:
        """The block whose output holds ``position`` (< the content's size)."""
        if not 0 <= position < self.bounds[-1]:
            raise _Unknown(position)  # past the blocks read
        k = 0
        while self.bounds[k + 1] <= position:
            k += 1
        return k

    def _header(self, k: int) -> BlockHeader | None:
        bit = self.bits[k]
        if bit not in self._headers:
            self._headers[bit] = block_header(self.raw, bit)
        return self._headers[bit]

    def mark(self, positions: Iterable[int]) -> None:
        """Find where the codes writing ``positions`` start, in one inflate (the rest of them
        are found when asked for, a block at a time)."""
        wanted = sorted({p for p in positions if p not in self._marks and 0 < p < self.bounds[-1]})
        if len(wanted) > 1:
            found = scan(self.raw, len(self.data), 0, wanted)
            if found is not None:
                self._marks.update(found.marks)

    def _cut(self, k: int, position: int) -> tuple[int, int] | None:
        """Where the code that writes ``position`` starts in block ``k``: (bit, output length
        from the block's start); ``None`` if that is unknown or the block's start."""
        start = self.bounds[k]
        if position in self._marks:
            mark = self._marks[position]
            if mark is None or not start < mark[1] <= position:
                return None
            return mark[0], mark[1] - start
        key = (k, position)
        if key not in self._cuts:
            history = self.data[max(0, start - WINDOW) : start]
            self._cuts[key] = cut(self.raw, self.bits[k], history, self.data[start:position])
        return self._cuts[key]

    def cut_before(self, position: int) -> _Cut:
        """Keep the original up to the last code that ends at or before ``position``."""
        k = self.block_of(position)
        start, bit = self.bounds[k], self.bits[k]
        header = self._header(k) if position > start else None
        found = None if header is None else self._cut(k, position)
        if header is None or found is None:
            return _Cut(bit, start)
        return _Cut(found[0], start + found[1], bit, (*header.eob, header.final))

    def resume_after(self, position: int) -> _Resume | None:
        """Take the original up again at a code that starts at or after ``position`` (at most
        a match's length after it), or at the next block boundary; ``None``: at the end."""
        if position >= len(self.data):
            return None
        k = self.block_of(position)
        start, end = self.bounds[k], self.bounds[k + 1]
        header = self._header(k)
        limit = position + LONGEST
        if header is not None and limit < end:
            found = self._cut(k, limit)
            if found is not None and start + found[1] >= position:
                return _Resume(found[0], start + found[1], (self.bits[k], header.end))
        return None if end >= len(self.data) else _Resume(self.bits[k + 1], end)

    def join(self, start: int, end: int) -> _Join:
        return _Join(self.cut_before(start), self.resume_after(end))


def _deflate(  # noqa: PLR0917 - one run's parts
    data: bytes, patches: Sequence[tuple[int, bytes]], start: int, stop: int, level: int, last: bool
) -> bytes:
    """Deflate the patched content [start, stop), the 32 KiB before it as the dictionary; ends
    on a byte (Z_SYNC_FLUSH) or with the final block."""
    history = _patched(data, patches, max(0, start - WINDOW), start)
    if history:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=history)
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = deflater.compress(_patched(data, patches, start, stop))
    return body + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _build(
    stream: _Stream, joins: Sequence[_Join], patches: Sequence[tuple[int, bytes]], level: int
) -> bytes:
    """The original's bits with each join's content deflated again."""
    raw, data = stream.raw, stream.data
    out = _Bits()
    at_bit = 0  # the next bit of the original to copy
    header_at = 0  # where the header of the block being copied is in ``out``
    for join in joins:
        cut_at, resume = join.cut, join.resume
        begin = out.count
        out.copy(raw, at_bit, cut_at.bit)
        if cut_at.header is not None:
            if cut_at.block >= at_bit:
                header_at = begin + cut_at.block - at_bit
            eob_value, eob_bits, final = cut_at.header
            if final:  # the final block, cut: it is not final any more
                out.out[header_at // 8] &= ~(1 << (header_at % 8)) & 0xFF
            out.value(eob_value, eob_bits)
        out.pad_to(0)
        stop = len(data) if resume is None else resume.at
        out.whole(_deflate(data, patches, cut_at.at, stop, level, resume is None))
        if resume is None:
            return bytes(out.out)
        if resume.header is not None:
            first, last = resume.header
            out.pad_to(resume.bit - (last - first))
            header_at = out.count
            out.bits(raw, first, last)
        else:
            out.pad_to(resume.bit)
        at_bit = resume.bit
    byte = at_bit // 8 + 1  # the rest is joined as it is: one copy of it, not two
    out.copy(raw, at_bit, min(8 * len(raw), 8 * byte))
    return b"".join((out.out, memoryview(raw)[byte:]))


def _regions(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` sorted, those closer than ``_JOIN`` joined."""
    regions: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if regions and a - regions[-1][1] < _JOIN:
            regions[-1] = (regions[-1][0], max(regions[-1][1], b))
        else:
            regions.append((a, b))
    return regions


def _joins(stream: _Stream, regions: Sequence[tuple[int, int]]) -> list[_Join]:
    """A join per region; regions whose joins would meet are made one."""
    joins: list[_Join] = []
    starts: list[int] = []
    for first, end in regions:
        start, join = first, stream.join(first, end)
        while joins and ((last := joins[-1].resume) is None or join.cut.at < last.at + _JOIN):
            joins.pop()
            start = starts.pop()
            join = stream.join(start, end)
        joins.append(join)
        starts.append(start)
    return joins


def _differences(stream: bytes, expected: bytes, size: int) -> list[tuple[int, int]] | None:
    """The ranges where ``stream``, inflated, differs from ``expected`` (the edited content's
    first bytes, or all of it: then the stream must end there); ``None`` if it does not
    inflate."""
    z = member_stream.inflate_module()  # (looked up each time: tests switch it)
    inflater = z.decompressobj(-15)
    whole = len(expected) >= size
    try:
        out = inflater.decompress(stream) if whole else inflater.decompress(stream, len(expected))
    except z.error:
        return None
    if whole and not (inflater.eof and not inflater.unused_data):
        return None
    if len(out) != len(expected):
        return None
    return [] if out == expected else _ranges(out, expected)


def _ranges(a: bytes | bytearray, b: bytes) -> list[tuple[int, int]]:
    """The ranges where ``a`` and ``b`` (of one length) differ."""
    found: list[tuple[int, int]] = []
    for at in range(0, len(a), _CHUNK):  # (bytes compared at C speed, a chunk at a time)
        x, y = a[at : at + _CHUNK], b[at : at + _CHUNK]
        if x != y:
            xor = (int.from_bytes(x, "little") ^ int.from_bytes(y, "little")).to_bytes(
                len(x), "little"
            )
            found += [(at + m.start(), at + m.end()) for m in _NONZERO.finditer(xor)]
    return found


_NONZERO = re.compile(rb"[^\x00]+")
_CHUNK = 4096


def splice(
    raw: bytes, data: bytes, patches: Sequence[tuple[int, bytes]], level: int
) -> SplicedStream | None:
    """A raw deflate stream of ``data`` (what ``raw`` inflates to) with ``patches`` ((offset,
    bytes), sorted, disjoint, inside the content) written over it, reusing ``raw``'s codes
    away from them. ``None``: deflate the whole content instead."""
    size = len(data)
    if any(offset < 0 or offset + len(b) > size for offset, b in patches):
        raise ValueError("a patch lies outside the content")
    dirty = [(o, o + len(b)) for o, b in patches if b != data[o : o + len(b)]]
    result = _spliced(raw, data, patches, dirty, level) if dirty else raw
    if result is None:
        return None
    digest, crc, crc32 = hashlib.sha256(), 0, _crc_module().crc32
    for part in _pieces(data, patches):
        digest.update(part)
        crc = crc32(part, crc)
    return SplicedStream(result, digest.digest(), crc, size)


def _spliced(
    raw: bytes,
    data: bytes,
    patches: Sequence[tuple[int, bytes]],
    dirty: Sequence[tuple[int, int]],
    level: int,
) -> bytes | None:
    size = len(data)
    #: Past here, no code reads a changed byte: the result must be the original's.
    settled = min(size, dirty[-1][1] + WINDOW + LONGEST)
    regions = _regions(dirty)
    found = _first_scan(raw, data, patches, regions, settled)
    if found is None:
        return None
    stream = _Stream(raw, data, found[0])
    regions = _regions([*regions, *found[1]])
    for _ in range(_ATTEMPTS):
        stream.mark([p for a, b in regions for p in (a, b + LONGEST)])
        try:
            joins = _joins(stream, regions)
        except _Unknown:
            break
        ends_at = [size if j.resume is None else j.resume.at for j in joins]
        check = min(size, max(settled, *ends_at))
        result = _build(stream, joins, patches, level)
        differ = _differences(result, _patched(data, patches, 0, check), size)
        if differ is None:
            break
        if not differ:
            last = joins[-1].resume
            if last is not None and not result.endswith(raw[last.bit // 8 + 1 :]):
                break  # (the copied tail is the original's, byte for byte)
            return result
        # The first byte that differs is written by a code taken up that reads a change (or
        # copies a byte that such a code wrote wrong): those codes are made again too.
        k = max((i for i, j in enumerate(joins) if j.cut.at <= differ[0][0]), default=None)
        if k is None or differ[0][0] < ends_at[k]:  # inside content deflated again: a bug
            break
        regions = _regions([*regions, *differ])
    logger.warning("splicing a deflate stream failed its check: deflating it whole")
    return None


def _first_scan(
    raw: bytes,
    data: bytes,
    patches: Sequence[tuple[int, bytes]],
    regions: Sequence[tuple[int, int]],
    settled: int,
) -> tuple[Scan, list[tuple[int, int]]] | None:
    """Inflate the original's start once: its blocks, where the codes around each change
    start, and — its window replaced by the edited bytes after each change — the bytes the
    original's codes after the changes write wrong (they read a change): those are made
    again with the changes."""
    size = len(data)
    stops = [p for a, b in regions for p in (a, b + LONGEST)]
    windows = {b: _patched(data, patches, max(0, b - WINDOW), b) for _, b in regions if b < size}
    found = scan(raw, size, settled + LONGEST, stops, windows)
    if found is None or not found.ends:
        return None
    out, first = found.out, regions[0][0]
    if out[:first] != data[:first]:
        return None
    wrong: list[tuple[int, int]] = []
    for k, (_, b) in enumerate(regions):
        stop = min(len(out), regions[k + 1][0] if k + 1 < len(regions) else settled)
        if b < stop and out[b:stop] != data[b:stop]:
            wrong += [(b + lo, b + hi) for lo, hi in _ranges(out[b:stop], data[b:stop])]
    return found, wrong


def _pieces(data: bytes, patches: Sequence[tuple[int, bytes]]) -> list[memoryview | bytes]:
    view = memoryview(data)
    parts: list[memoryview | bytes] = []
    at = 0
    for offset, raw in patches:
        parts += [view[at:offset], raw]
        at = offset + len(raw)
    parts.append(view[at:])
    return parts
