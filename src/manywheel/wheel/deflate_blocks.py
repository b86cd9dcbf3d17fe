"""A deflate stream's block structure, read with zlib's own inflate through ``ctypes``
(Python's ``zlib`` module does not expose ``Z_BLOCK``, ``inflatePrime``, ``inflateMark`` or
``inflateSetDictionary`` for raw streams): where the blocks end, whether a block decodes alike
after another window, where the last code before an output position ends, and a block's
end-of-block code (parsed from its header). Everything returns ``None``/``False`` when libz
cannot be loaded or the stream is not as expected: the caller then deflates whole."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence

__all__ = ["block_ends", "cut", "decodes_alike", "end_of_block"]

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


def block_ends(raw: bytes, size: int, until: int) -> list[tuple[int, int]] | None:
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


def decodes_alike(raw: bytes, start: int, history: bytes, expected: bytes) -> bool:
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


def end_of_block(raw: bytes, start: int) -> tuple[int, int, bool] | None:
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
