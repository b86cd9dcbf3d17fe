"""Re-deflate a member of which a few bytes changed, reusing its compressed stream.

A deflate stream is a run of blocks, each decoded with the help of the 32 KiB of output before
it (back-references reach no further). When an edit writes a few bytes over a member (an ELF
editor rewriting a string in place), every block whose output — or the 32 KiB before it — holds
no changed byte decodes exactly as before, so its compressed bits can be kept. Only the blocks
around the changes are deflated again (with the 32 KiB before them as the compressor's
dictionary), and the kept runs of bits are joined to them:

- a deflated run starts on a byte (an empty stored block gets there from any bit: a stored block
  inside the run must fall where it fell when it was made) and ends on one (Z_SYNC_FLUSH);
- a kept run is copied byte for byte from the original stream, so the bit it starts at must
  have the same position within its byte as in the original (stored blocks inside it, again):
  empty blocks reach it — a fixed one adds 10 bits, a dynamic one of our own 92 or 95 — and only
  its first byte is merged.

The block boundaries come from zlib's own inflate, which stops at each block with ``Z_BLOCK``
(through ``ctypes``, :mod:`manywheel.wheel.deflate_blocks`), read only as far as the last
change needs. A block near a change is first decoded after the new window: when it reads none
of the change it is kept; the block holding the first change is cut after its last code before
it and closed with its own end-of-block code (read from its header), so only the content from
the change on is deflated again.

The result is inflated again past its last join by a block, and must give the edited content
there; from that block on its bytes must be the original's to the end (the decoder then does
exactly what it did on the original). The content's sha256 and CRC-32 are computed from its
pieces. When libz cannot be loaded or anything is not as expected, :func:`splice` returns
``None`` and the caller deflates the whole content as before.

For torch's test programs (600 KB each, a new RUNPATH written over the old one near the start),
this deflates about 50 KB of each member again instead of all of it.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType

from manywheel.wheel.deflate_blocks import block_ends, cut, decodes_alike, end_of_block
from manywheel.wheel.stream import inflate_module

__all__ = ["SplicedStream", "inflate", "splice"]

logger = logging.getLogger(__name__)

WINDOW = 32768
#: Empty blocks (value, bit count), deflate's bit order: a fixed one, and two dynamic ones
#: whose only code is end-of-block, with 18 or 19 code-length code lengths (92 and 95 bits).
_EMPTY_FIXED = (0b010, 10)
_EMPTY_DYNAMIC = ((0x3EB7F20000000000881C004, 92), (0x1F5BF820000000000881E004, 95))


def _crc_module() -> ModuleType:
    return inflate_module()  # isal's crc32 is the same function, several times faster


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
    z = inflate_module()
    inflater = z.decompressobj(-15)
    try:
        data = inflater.decompress(raw)
    except z.error:
        return None
    if len(data) != size or not inflater.eof or _crc_module().crc32(data) != crc:
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
            self.value(*_EMPTY_DYNAMIC[1])
        while self.count % 8 != position % 8:
            self.value(*_EMPTY_FIXED)


def _tainted(bounds: list[int], dirty: Sequence[tuple[int, int]]) -> list[bool]:
    """Per block: whether its output, or the window before it, holds a changed byte."""
    return [
        any(a < end and start - WINDOW < b for a, b in dirty) for start, end in pairwise(bounds)
    ]


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


def splice(
    raw: bytes, data: bytes, patches: Sequence[tuple[int, bytes]], level: int
) -> SplicedStream | None:
    """A raw deflate stream of ``data`` (what ``raw`` inflates to) with ``patches`` ((offset,
    bytes), sorted, disjoint, inside the content) written over it, reusing ``raw``'s blocks away
    from them. ``None``: deflate the whole content instead."""
    size = len(data)
    if any(offset < 0 or offset + len(b) > size for offset, b in patches):
        raise ValueError("a patch lies outside the content")
    dirty = [(o, o + len(b)) for o, b in patches if b != data[o : o + len(b)]]
    until = max((b for _, b in dirty), default=0) + WINDOW
    ends = block_ends(raw, size, until)
    if ends is None:
        return None
    bits = [0] + [b for b, _ in ends]
    bounds = [0] + [o for _, o in ends]
    if bounds[-1] < size:  # the last kept run goes to the end of the stream
        bits.append(8 * len(raw))
        bounds.append(size)
    else:  # and takes the empty blocks that may end it (zlib's final stored block)
        bits[-1] = 8 * len(raw)
    tainted = _tainted(bounds, dirty)
    for k, (lo, hi) in enumerate(pairwise(bounds)):
        if tainted[k] and not any(a < hi and lo < b for a, b in dirty):  # near a change only
            history = _patched(data, patches, max(0, lo - WINDOW), lo)
            tainted[k] = not decodes_alike(raw, bits[k], history, data[lo:hi])
    out = _Bits()
    check = 0  # the output position up to which the result must be inflated again
    i, count = 0, len(tainted)
    while i < count:
        j = i
        while j < count and tainted[j] == tainted[i]:
            j += 1
        if not tainted[i]:
            out.copy(raw, bits[i], bits[j])
            i = j
            continue
        start = _keep_head(out, raw, data, patches, dirty, bits[i], bounds[i], bounds[i + 1])
        out.pad_to(0)
        out.whole(_deflate(data, patches, start, bounds[j], level, j == count))
        check = bounds[j + 1] if j + 1 < len(bounds) else size
        if j < count:
            out.pad_to(bits[j])
        i = j
    stream = bytes(out.out)
    tail = (bits[i_tail] // 8 + 1) if (i_tail := _last_kept(tainted)) is not None else len(raw)
    if not stream.endswith(raw[tail:]) or not _inflates_to(stream, data, patches, check):
        logger.warning("splicing a deflate stream failed its check: deflating it whole")
        return None
    digest, crc, crc32 = hashlib.sha256(), 0, _crc_module().crc32
    for part in _pieces(data, patches):
        digest.update(part)
        crc = crc32(part, crc)
    return SplicedStream(stream, digest.digest(), crc, size)


def _keep_head(  # noqa: PLR0917 - one block's parts
    out: _Bits,
    raw: bytes,
    data: bytes,
    patches: Sequence[tuple[int, bytes]],
    dirty: Sequence[tuple[int, int]],
    bit: int,
    start: int,
    end: int,
) -> int:
    """Keep the head of the block [start, end) at ``bit`` that comes before its first changed
    byte — cut after its last code there and closed with its own end-of-block code — when it
    can be; returns where the content to deflate again starts."""
    first = min((a for a, b in dirty if a < end and b > start), default=None)
    if first is None or first - start < 4096:
        return start
    eob = end_of_block(raw, bit)
    history = _patched(data, patches, max(0, start - WINDOW), start)
    found = cut(raw, bit, history, data[start:first]) if eob is not None else None
    if eob is None or found is None:
        return start
    cut_bit, length = found
    begin = out.count
    out.copy(raw, bit, cut_bit)
    if eob[2]:  # the final block, cut: it is not final any more
        out.out[begin // 8] &= ~(1 << (begin % 8)) & 0xFF
    out.value(eob[0], eob[1])
    return start + length


def _last_kept(tainted: list[bool]) -> int | None:
    """The first block of the kept run that ends the stream (``None``: it ends deflated
    again): from there on, the result's bytes are the original's."""
    if not tainted or tainted[-1]:
        return None
    k = len(tainted) - 1
    while k > 0 and not tainted[k - 1]:
        k -= 1
    return k


def _pieces(data: bytes, patches: Sequence[tuple[int, bytes]]) -> list[memoryview | bytes]:
    view = memoryview(data)
    parts: list[memoryview | bytes] = []
    at = 0
    for offset, raw in patches:
        parts += [view[at:offset], raw]
        at = offset + len(raw)
    parts.append(view[at:])
    return parts


def _inflates_to(
    stream: bytes, data: bytes, patches: Sequence[tuple[int, bytes]], upto: int
) -> bool:
    """Whether ``stream`` inflates to the patched ``data`` at least up to output position
    ``upto`` (past every join: what follows is the original's bits after the original's window,
    and decodes as it did)."""
    z = inflate_module()
    inflater = z.decompressobj(-15)
    try:
        out = inflater.decompress(stream, upto) if upto < len(data) else inflater.decompress(stream)
    except z.error:
        return False
    if upto >= len(data) and not (inflater.eof and not inflater.unused_data):
        return False
    return len(out) >= upto and out[:upto] == _patched(data, patches, 0, upto)
