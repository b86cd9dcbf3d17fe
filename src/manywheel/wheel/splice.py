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
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from manywheel.wheel import stream as member_stream
from manywheel.wheel.bitstring import BitString
from manywheel.wheel.deflate_blocks import Scan, scan
from manywheel.wheel.stream_cuts import (
    LONGEST,
    WINDOW,
    Join,
    StreamMap,
    Unknown,
    merged_regions,
    plan_joins,
)

__all__ = ["SplicedStream", "inflate", "splice"]

logger = logging.getLogger(__name__)

#: How many times the result may be made again, each time with the codes taken up that read a
#: change made again too.
_ATTEMPTS = 8


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


def _patched(data: bytes, patches: Sequence[tuple[int, bytes]], lo: int, hi: int) -> bytes:
    out = bytearray(data[lo:hi])
    for offset, raw in patches:
        a, b = max(offset, lo), min(offset + len(raw), hi)
        if a < b:
            out[a - lo : b - lo] = raw[a - offset : b - offset]
    return bytes(out)


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
    stream: StreamMap, joins: Sequence[Join], patches: Sequence[tuple[int, bytes]], level: int
) -> bytes:
    """The original's bits with each join's content deflated again."""
    raw, data = stream.raw, stream.data
    out = BitString()
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
    regions = merged_regions(dirty)
    found = _first_scan(raw, data, patches, regions, settled)
    if found is None:
        return None
    stream = StreamMap(raw, data, found[0])
    regions = merged_regions([*regions, *found[1]])
    for _ in range(_ATTEMPTS):
        stream.mark([p for a, b in regions for p in (a, b + LONGEST)])
        try:
            joins = plan_joins(stream, regions)
        except Unknown:
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
        regions = merged_regions([*regions, *differ])
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
