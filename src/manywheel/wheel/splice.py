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
(through ``ctypes``: Python's ``zlib`` module does not expose it), read only as far as the last
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

import ctypes
import hashlib
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType

from manywheel.wheel.stream import inflate_module

__all__ = ["SplicedStream", "inflate", "splice"]

logger = logging.getLogger(__name__)

WINDOW = 32768
_Z_OK, _Z_STREAM_END, _Z_BLOCK = 0, 1, 5
#: Empty blocks (value, bit count), deflate's bit order: a fixed one, and two dynamic ones
#: whose only code is end-of-block, with 18 or 19 code-length code lengths (92 and 95 bits).
_EMPTY_FIXED = (0b010, 10)
_EMPTY_DYNAMIC = ((0x3EB7F20000000000881C004, 92), (0x1F5BF820000000000881E004, 95))


class _ZStream(ctypes.Structure):
    _fields_ = (
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    )


_LIBZ: list[ctypes.CDLL | None] = []


def _libz() -> ctypes.CDLL | None:
    """The C zlib (loaded once; ``None`` if it cannot be)."""
    if not _LIBZ:
        try:
            lib = ctypes.CDLL("libz.so.1")
            lib.zlibVersion.restype = ctypes.c_char_p
            lib.inflateInit2_.argtypes = (
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            )
            lib.inflate.argtypes = (ctypes.c_void_p, ctypes.c_int)
            lib.inflateEnd.argtypes = (ctypes.c_void_p,)
            lib.inflateSetDictionary.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint)
            lib.inflatePrime.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_int)
            lib.inflateMark.argtypes = (ctypes.c_void_p,)
            lib.inflateMark.restype = ctypes.c_long
            _LIBZ.append(lib)
        except (OSError, AttributeError):
            logger.debug("libz.so.1 cannot be loaded: members are deflated whole", exc_info=True)
            _LIBZ.append(None)
    return _LIBZ[0]


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


def _block_ends(raw: bytes, size: int, until: int) -> list[tuple[int, int]] | None:
    """Where the blocks of ``raw`` end — (bit position, output position) — from the start up
    to the second one at or past output position ``until`` (or the end of the stream)."""
    lib = _libz()
    if lib is None or len(raw) >= 2**31 or size >= 2**31:
        return None
    out = bytearray(size + 1)
    out_buffer = (ctypes.c_char * len(out)).from_buffer(out)
    source = ctypes.c_char_p(raw)
    stream = _ZStream()
    if lib.inflateInit2_(ctypes.byref(stream), -15, lib.zlibVersion(), ctypes.sizeof(stream)):
        return None
    ends: list[tuple[int, int]] = []
    try:
        stream.next_in = ctypes.cast(source, ctypes.c_void_p).value
        stream.avail_in = len(raw)
        stream.next_out = ctypes.addressof(out_buffer)
        stream.avail_out = len(out)
        while sum(o >= until for _, o in ends[-2:]) < 2:
            code = lib.inflate(ctypes.byref(stream), _Z_BLOCK)
            bit = stream.total_in * 8 - (stream.data_type & 7)
            if code == _Z_STREAM_END:  # (the bit position is rounded up to a byte here)
                if ends and ends[-1][1] == stream.total_out:
                    ends.pop()  # empty blocks end the stream: the last span runs to its end
                ends.append((bit, stream.total_out))
                break
            at_end = stream.data_type & 128
            if code != _Z_OK or (stream.avail_in == 0 and not at_end):
                return None
            if at_end and stream.total_out and (not ends or ends[-1][1] != stream.total_out):
                ends.append((bit, stream.total_out))
    finally:
        lib.inflateEnd(ctypes.byref(stream))
        del out_buffer
    return ends


class _Inflater:
    """zlib's raw inflate over ``raw`` from bit ``start`` (a block boundary), after ``history``,
    writing at most ``limit`` bytes."""

    def __init__(
        self, lib: ctypes.CDLL, raw: bytes, start: int, history: bytes, limit: int
    ) -> None:
        self.lib = lib
        self._base = 0
        self.stream = _ZStream()
        self.out = bytearray(limit)
        self._buffer = (ctypes.c_char * max(limit, 1)).from_buffer(self.out or bytearray(1))
        self._source = ctypes.c_char_p(raw)
        self.ok = not lib.inflateInit2_(
            ctypes.byref(self.stream), -15, lib.zlibVersion(), ctypes.sizeof(self.stream)
        )
        if not self.ok:
            return
        if history and lib.inflateSetDictionary(ctypes.byref(self.stream), history, len(history)):
            self.ok = False
        byte, shift = divmod(start, 8)
        if shift:
            self.ok = self.ok and not lib.inflatePrime(
                ctypes.byref(self.stream), 8 - shift, raw[byte] >> shift
            )
            byte += 1
        address = ctypes.cast(self._source, ctypes.c_void_p).value
        assert address is not None
        self._base = byte
        self.stream.next_in = address + byte
        self.stream.avail_in = len(raw) - byte
        self.stream.next_out = ctypes.addressof(self._buffer)
        self.stream.avail_out = limit

    def run(self, flush: int, until: int) -> bool:
        """Inflate until ``until`` bytes are out (stopping at block ends with Z_BLOCK); False
        on an error or the stream's end before that."""
        while self.ok and self.stream.total_out < until:
            code = int(self.lib.inflate(ctypes.byref(self.stream), flush))
            out = int(self.stream.total_out)
            if code == _Z_STREAM_END:
                return out >= until
            if code != _Z_OK or (self.stream.avail_out == 0 and out < until):
                return False
        return self.ok

    @property
    def bit(self) -> int:
        """The bit position in ``raw`` reached (primed bits included)."""
        return int((self._base + self.stream.total_in) * 8 - (self.stream.data_type & 7))

    def close(self) -> None:
        self.lib.inflateEnd(ctypes.byref(self.stream))
        del self._buffer


def _decodes_alike(raw: bytes, start: int, history: bytes, expected: bytes) -> bool:
    """Whether the blocks of ``raw`` from bit ``start`` decode to ``expected`` (up to a block
    end) after the output ``history``: whether a block near a change reads none of it."""
    lib = _libz()
    if lib is None or len(raw) >= 2**31:
        return False
    inflater = _Inflater(lib, raw, start, history, len(expected) + 1)
    try:
        done = inflater.run(_Z_BLOCK, len(expected))
        at_end = bool(inflater.stream.data_type & 128)
        same = done and at_end and inflater.stream.total_out == len(expected)
        return same and inflater.out[: len(expected)] == expected
    finally:
        inflater.close()


def _cut(raw: bytes, start: int, history: bytes, expected: bytes) -> tuple[int, int] | None:
    """Where the last code that ends at or before ``len(expected)`` bytes of output ends, in
    the block of ``raw`` starting at bit ``start``: (bit position, output length), the block
    decoding to ``expected`` up to there (after ``history``); ``None`` if that is unknown."""
    lib = _libz()
    if lib is None or len(raw) >= 2**31 or not expected:
        return None
    inflater = _Inflater(lib, raw, start, history, len(expected))
    try:
        if not inflater.run(0, len(expected)) or inflater.stream.data_type & 128:
            return None  # Z_NO_FLUSH: stopped by the output limit, inside the block
        mark = int(lib.inflateMark(ctypes.byref(inflater.stream)))
        back, emitted = mark >> 16, mark & 0xFFFF
        if back < 0:
            return None
        length = inflater.stream.total_out - emitted
        bit = inflater.bit - back
        if length <= 0 or inflater.out[:length] != expected[:length]:
            return None
        return bit, length
    finally:
        inflater.close()


class _BitReader:
    def __init__(self, raw: bytes, bit: int) -> None:
        self.raw, self.bit = raw, bit

    def read(self, count: int) -> int:
        value = 0
        for k in range(count):
            byte, shift = divmod(self.bit, 8)
            value |= ((self.raw[byte] >> shift) & 1) << k
            self.bit += 1
        return value


_CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)


def _canonical(lengths: Sequence[int]) -> dict[tuple[int, int], int]:
    """(length, code) -> symbol for a canonical Huffman code with these code lengths."""
    counts = [0] * 16
    for length in lengths:
        counts[length] += 1
    counts[0] = 0
    code, first = 0, [0] * 16
    for length in range(1, 16):
        code = (code + counts[length - 1]) << 1
        first[length] = code
    table = {}
    for symbol, length in enumerate(lengths):
        if length:
            table[(length, first[length])] = symbol
            first[length] += 1
    return table


def _end_of_block(raw: bytes, start: int) -> tuple[int, int, bool] | None:
    """The end-of-block code of the block at bit ``start`` — (value in deflate's bit order,
    bit count, whether the block is the final one) — or ``None`` for a stored block or a header
    that does not parse."""
    reader = _BitReader(raw, start)
    try:
        final, kind = reader.read(1), reader.read(2)
        if kind == 1:
            return 0, 7, bool(final)  # fixed: 256 is 0000000
        if kind != 2:
            return None
        hlit, hdist, hclen = reader.read(5) + 257, reader.read(5) + 1, reader.read(4) + 4
        cl_lengths = [0] * 19
        for k in range(hclen):
            cl_lengths[_CL_ORDER[k]] = reader.read(3)
        cl_table = _canonical(cl_lengths)
        lengths: list[int] = []
        while len(lengths) < hlit + hdist:
            code = length = 0
            while (length, code) not in cl_table:
                code, length = (code << 1) | reader.read(1), length + 1
                if length > 7:
                    return None
            symbol = cl_table[(length, code)]
            if symbol < 16:
                lengths.append(symbol)
            elif symbol == 16 and lengths:
                lengths += [lengths[-1]] * (3 + reader.read(2))
            elif symbol == 17:
                lengths += [0] * (3 + reader.read(3))
            elif symbol == 18:
                lengths += [0] * (11 + reader.read(7))
            else:
                return None
    except IndexError:
        return None
    literal = lengths[:hlit]
    found = next(((n, c) for (n, c), sym in _canonical(literal).items() if sym == 256), None)
    if found is None:
        return None
    bits, code = found
    reversed_code = int(f"{code:0{bits}b}"[::-1], 2)  # Huffman codes go most significant first
    return reversed_code, bits, bool(final)


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
    ends = _block_ends(raw, size, until)
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
            tainted[k] = not _decodes_alike(raw, bits[k], history, data[lo:hi])
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
    eob = _end_of_block(raw, bit)
    history = _patched(data, patches, max(0, start - WINDOW), start)
    cut = _cut(raw, bit, history, data[start:first]) if eob is not None else None
    if eob is None or cut is None:
        return start
    cut_bit, length = cut
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
