"""A deflate stream's block structure, read with zlib's own inflate through ``ctypes``
(Python's ``zlib`` module does not expose ``Z_BLOCK``, ``inflatePrime``, ``inflateMark`` or
``inflateSetDictionary`` for raw streams):

- :func:`scan`: one inflate from the start, noting where the blocks end, where the code that
  writes each output position asked for starts (``inflateMark`` when the output is full), and —
  the decoder's window replaced by other bytes at positions asked for — what the codes then
  write (the splice learns which codes read a change);
- :func:`cut`: where the code writing an output position starts, by one block's inflate;
- :func:`block_header`: a compressed block's header parsed here — where its first code starts
  and its end-of-block code (what closes the block when it is cut).

Everything returns ``None`` when libz cannot be loaded or the stream is not as expected: the
caller then deflates whole."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BlockHeader", "Scan", "block_header", "cut", "scan"]

logger = logging.getLogger(__name__)

_Z_OK, _Z_STREAM_END, _Z_BLOCK = 0, 1, 5


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


@dataclass(slots=True)
class Scan:
    """What one inflate of a stream's start found (see :func:`scan`)."""

    #: Where the blocks end: (bit position, output position), in order (several at one output
    #: position: empty blocks).
    ends: list[tuple[int, int]]
    #: For each stop asked for, the code that writes that output position: (its bit position,
    #: the output position it starts at); ``None`` when that is not known (a stored block, a
    #: block boundary).
    marks: dict[int, tuple[int, int] | None]
    #: The output up to ``until`` (after a window was replaced, what the codes then wrote).
    out: bytearray


def scan(
    raw: bytes,
    size: int,
    until: int,
    stops: Sequence[int] = (),
    windows: dict[int, bytes] | None = None,
) -> Scan | None:
    """Inflate ``raw`` (``size`` bytes of content) from the start to the first block end at or
    past output position ``until`` (or the stream's end), noting where the blocks end, where
    the code writing each output position in ``stops`` starts, and replacing the decoder's
    window at each output position in ``windows`` by the bytes given (the 32 KiB before it,
    edited: what follows is then what the original's codes write after the edit)."""
    lib = _libz()
    windows = windows or {}
    if lib is None or len(raw) >= 2**31 or size >= 2**31:
        return None
    until = min(until, size)
    events = sorted({p for p in (*stops, *windows) if 0 < p < size})
    out, scratch = bytearray(until), bytearray(_SCRATCH)
    out_buffer = (ctypes.c_char * max(len(out), 1)).from_buffer(out or scratch)
    scratch_buffer = (ctypes.c_char * len(scratch)).from_buffer(scratch)
    out_address, scratch_address = ctypes.addressof(out_buffer), ctypes.addressof(scratch_buffer)
    source = ctypes.c_char_p(raw)
    stream = _ZStream()
    if lib.inflateInit2_(ctypes.byref(stream), -15, lib.zlibVersion(), ctypes.sizeof(stream)):
        return None
    found = Scan([], {}, out)
    ends, past, e = found.ends, False, 0
    try:
        stream.next_in = ctypes.cast(source, ctypes.c_void_p).value
        stream.avail_in = len(raw)
        while not past or e < len(events):
            total = stream.total_out
            target = events[e] if e < len(events) else None
            if total < until:
                stream.next_out = out_address + total
                stream.avail_out = min(until, target or until) - total
            else:
                stream.next_out = scratch_address
                stream.avail_out = min(len(scratch), (target or total + len(scratch)) - total)
            code = lib.inflate(ctypes.byref(stream), _Z_BLOCK)
            total = stream.total_out
            bit = stream.total_in * 8 - (stream.data_type & 7)
            if code == _Z_STREAM_END:  # (the bit position is rounded up to a byte here)
                ends.append((bit, total))
                break
            at_end = stream.data_type & 128
            starved = stream.avail_in == 0 and stream.avail_out and not at_end  # (truncated)
            if code != _Z_OK or total > size or starved:
                return None
            if at_end:  # (empty blocks too: the block after them starts where they end)
                ends.append((bit, total))
                past = past or total >= until
            if target is not None and total == target:
                e += 1
                if target in windows and lib.inflateSetDictionary(
                    ctypes.byref(stream), windows[target], len(windows[target])
                ):
                    return None
                found.marks[target] = None if at_end else _mark(lib, stream, bit, total)
    finally:
        lib.inflateEnd(ctypes.byref(stream))
        del out_buffer, scratch_buffer
    return found


def _mark(lib: ctypes.CDLL, stream: _ZStream, bit: int, total: int) -> tuple[int, int] | None:
    """Where the code being written when the output filled up starts: (bit, output position)."""
    mark = int(lib.inflateMark(ctypes.byref(stream)))
    back, emitted = mark >> 16, mark & 0xFFFF
    if back < 0:  # (a stored block)
        return None
    return bit - back, total - emitted


#: Output space past the part of the output that is kept (inflate keeps its own 32 KiB window,
#: so this buffer is reused).
_SCRATCH = 1 << 18


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


def cut(raw: bytes, start: int, history: bytes, expected: bytes) -> tuple[int, int] | None:
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


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A compressed block's header: its type (1: fixed codes, 2: dynamic), whether it is the
    final block, the bit position where its first code starts, and its end-of-block code
    (value in deflate's bit order, bit count)."""

    kind: int
    final: bool
    end: int
    eob: tuple[int, int]


_WINDOW_MASK = (1 << 64) - 1
#: The order in which a dynamic header gives the code-length code's lengths (RFC 1951 3.2.7).
_CL_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)
#: The most bits a dynamic header takes: 17 + 19 * 3 + (286 + 30) * 7 (every length coded in
#: 7 bits, no repeats).
_HEADER_BITS = 17 + 19 * 3 + 316 * 7


def _codes(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """The canonical Huffman code of each symbol — (code in deflate's bit order, bit count);
    (0, 0) for unused symbols — or an empty list for lengths that make no prefix code."""
    counts = [0] * 16
    for length in lengths:
        counts[length] += 1
    counts[0] = 0
    code, first, left = 0, [0] * 16, 1
    for length in range(1, 16):
        left = (left << 1) - counts[length]
        if left < 0:
            return []  # over-subscribed
        code = (code + counts[length - 1]) << 1
        first[length] = code
    out = []
    for length in lengths:
        if length:
            value = first[length]
            first[length] += 1
            out.append((_reversed(value, length), length))  # sent first bit first
        else:
            out.append((0, 0))
    return out


_REVERSED_BYTE = [int(f"{b:08b}"[::-1], 2) for b in range(256)]


def _reversed(value: int, bits: int) -> int:
    """The low ``bits`` (at most 16) bits of ``value`` in reverse order."""
    both = _REVERSED_BYTE[value & 0xFF] << 8 | _REVERSED_BYTE[value >> 8 & 0xFF]
    return both >> (16 - bits)


def _peek_table(lengths: Sequence[int]) -> list[tuple[int, int]] | None:
    """For each value of the next 7 bits: (symbol, bit count) of the code-length code they
    start with ((0, 0): none)."""
    codes = _codes(lengths)
    if not codes:
        return None
    table = [(0, 0)] * 128
    for symbol, (code, n) in enumerate(codes):
        if n:  # every 7-bit value that starts with the code
            table[code :: 1 << n] = [(symbol, n)] * (1 << (7 - n))
    return table


def block_header(raw: bytes, start: int) -> BlockHeader | None:
    """The header of the compressed (not stored) block at bit ``start`` of ``raw``, or
    ``None`` for a stored block or a header that does not parse."""
    byte, shift = divmod(start, 8)
    bits = int.from_bytes(raw[byte : byte + _HEADER_BITS // 8 + 2], "little") >> shift
    final, kind = bits & 1, (bits >> 1) & 3
    if kind == 1:
        return BlockHeader(1, bool(final), start + 3, (0, 7))  # fixed: 256 is 0000000
    if kind != 2:
        return None
    hlit, hdist, hclen = (bits >> 3 & 31) + 257, (bits >> 8 & 31) + 1, (bits >> 13 & 15) + 4
    at = 17
    cl_lengths = [0] * 19
    for k in range(hclen):
        cl_lengths[_CL_ORDER[k]] = bits >> at & 7
        at += 3
    table = _peek_table(cl_lengths)
    if table is None:
        return None
    lengths: list[int] = []
    append, total, count = lengths.append, hlit + hdist, 0
    window, base = bits & _WINDOW_MASK, 0  # bits [base, base + 64) of the header, kept small
    while count < total:
        if at - base > 48:
            window, base = (bits >> at) & _WINDOW_MASK, at
        peek = window >> (at - base)
        symbol, n = table[peek & 127]
        at += n
        if symbol < 16 and n:
            append(symbol)
            count += 1
            continue
        peek >>= n
        if symbol == 16 and lengths:
            repeat = 3 + (peek & 3)
            lengths += [lengths[-1]] * repeat
            at += 2
        elif symbol == 17:
            repeat = 3 + (peek & 7)
            lengths += [0] * repeat
            at += 3
        elif symbol == 18:
            repeat = 11 + (peek & 127)
            lengths += [0] * repeat
            at += 7
        else:
            return None
        count += repeat
    if len(lengths) != total or start + at > 8 * len(raw):
        return None
    eob = _code_of(lengths[:hlit], 256)
    return None if eob is None else BlockHeader(2, bool(final), start + at, eob)


def _code_of(lengths: Sequence[int], symbol: int) -> tuple[int, int] | None:
    """The code of one ``symbol`` in the canonical Huffman code with these lengths."""
    length = lengths[symbol] if symbol < len(lengths) else 0
    if not length:
        return None
    code = 0
    for n in range(1, length):
        code = (code + lengths.count(n)) << 1
    code += lengths[:symbol].count(length)
    return _reversed(code, length), length
