"""Re-deflate a member of which a few bytes changed, reusing its compressed stream.

A deflate stream is a run of blocks, each decoded with the help of the 32 KiB of output before
it (back-references reach no further). When an edit writes a few bytes over a member (an ELF
editor rewriting a string in place), every block whose output — or the 32 KiB before it — holds
no changed byte decodes exactly as before, so its compressed bits can be kept. Only the blocks
around the changes are deflated again (with the 32 KiB before them as the compressor's
dictionary), and the kept runs of bits are joined to them:

- after a re-deflated run (Z_SYNC_FLUSH: byte-aligned), an empty stored block and empty fixed
  blocks (10 bits each) bring the bit position to the parity of the kept run that follows, so
  that run is copied byte for byte (only its first byte is merged); a kept run that starts at an
  odd bit is deflated again instead;
- a re-deflated run after a kept one is shifted to the bit where that run ends (it is small).

The block boundaries come from zlib's own inflate, which stops at each block with ``Z_BLOCK``
(through ``ctypes``: Python's ``zlib`` module does not expose it). The result is inflated again
and must give the expected CRC-32 and size, or :func:`splice` returns ``None`` and the caller
deflates the whole content as before. So does it when libz cannot be loaded, or the stream is
not what it should be.

For torch's test programs (600 KB each, a new RUNPATH written over the old one near the start),
this re-deflates about 100 KB per member instead of all of it.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from manywheel.wheel.stream import inflate_module

__all__ = ["Inflated", "SplicedStream", "inflate_blocks", "splice"]

logger = logging.getLogger(__name__)

WINDOW = 32768
_Z_OK, _Z_STREAM_END, _Z_BLOCK = 0, 1, 5
_EMPTY_FIXED = (0b010, 10)  # BFINAL=0, BTYPE=01, end-of-block (7 zero bits)


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
            _LIBZ.append(lib)
        except (OSError, AttributeError):
            logger.debug("libz.so.1 cannot be loaded: members are deflated whole", exc_info=True)
            _LIBZ.append(None)
    return _LIBZ[0]


@dataclass(frozen=True, slots=True)
class SplicedStream:
    """A raw deflate stream and what it inflates to: sha256, CRC-32, size."""

    data: bytes
    sha256: bytes
    crc: int
    size: int


@dataclass(frozen=True, slots=True)
class Inflated:
    """A raw deflate stream, what it inflates to, and where its blocks end: (bit position in
    the stream, output position), the last one the end of the stream."""

    raw: bytes
    data: bytes
    blocks: tuple[tuple[int, int], ...]


def inflate_blocks(raw: bytes, size: int) -> Inflated | None:
    """Inflate ``raw`` (``size`` bytes out) with zlib, noting where each block ends. ``None``
    if libz cannot be loaded or the stream does not inflate to ``size`` bytes."""
    found = _inflate_blocks(raw, size)
    if found is None:
        return None
    data, blocks = found
    return Inflated(raw, bytes(data), tuple(blocks))


def _inflate_blocks(raw: bytes, size: int) -> tuple[bytearray, list[tuple[int, int]]] | None:
    lib = _libz()
    if lib is None or len(raw) >= 2**31 or size >= 2**31:
        return None
    out = bytearray(size + 1)
    out_buffer = (ctypes.c_char * len(out)).from_buffer(out)
    source = ctypes.c_char_p(raw)
    stream = _ZStream()
    if lib.inflateInit2_(ctypes.byref(stream), -15, lib.zlibVersion(), ctypes.sizeof(stream)):
        return None
    try:
        stream.next_in = ctypes.cast(source, ctypes.c_void_p).value
        stream.avail_in = len(raw)
        stream.next_out = ctypes.addressof(out_buffer)
        stream.avail_out = len(out)
        ends: list[tuple[int, int]] = []
        while True:
            code = lib.inflate(ctypes.byref(stream), _Z_BLOCK)
            bit = stream.total_in * 8 - (stream.data_type & 7)
            if code == _Z_STREAM_END:  # (the bit position is rounded up to a byte here)
                if not ends or ends[-1][1] != stream.total_out:
                    ends.append((bit, stream.total_out))
                break
            if code != _Z_OK or (stream.avail_in == 0 and not stream.data_type & 128):
                return None
            if (
                stream.data_type & 128
                and stream.total_out
                and (not ends or ends[-1][1] != stream.total_out)
            ):
                ends.append((bit, stream.total_out))
    finally:
        lib.inflateEnd(ctypes.byref(stream))
        del out_buffer
    if stream.total_out != size or stream.total_in != len(raw):
        return None
    del out[size:]
    return out, ends


class _Bits:
    """A little-endian bit string being built (deflate's bit order)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.count = 0

    def copy(self, raw: bytes, start: int, end: int) -> None:
        """Append bits [start, end) of ``raw``."""
        if end <= start:
            return
        shift = self.count % 8
        if shift == start % 8:  # aligned: whole bytes, the first one merged
            first, stop = start // 8, (end + 7) // 8
            if shift:
                keep = (1 << shift) - 1
                self.out[-1] = (self.out[-1] & keep) | (raw[first] & ~keep & 0xFF)
                self.out += memoryview(raw)[first + 1 : stop]
            else:
                self.out += memoryview(raw)[first:stop]
        else:
            value = int.from_bytes(raw[start // 8 : (end + 7) // 8], "little") >> (start % 8)
            self.value(value & ((1 << (end - start)) - 1), end - start)
            return
        self.count += end - start
        self._trim()

    def value(self, value: int, bits: int) -> None:
        """Append the low ``bits`` bits of ``value``."""
        shift = self.count % 8
        if shift:
            value = (value << shift) | (self.out.pop() & ((1 << shift) - 1))
        total = bits + shift
        self.out += value.to_bytes((total + 7) // 8, "little")
        self.count += bits
        self._trim()

    def bytes(self, data: bytes) -> None:
        """Append whole bytes (``count`` must be a multiple of 8)."""
        assert self.count % 8 == 0
        self.out += data
        self.count += 8 * len(data)

    def align_to(self, parity: int) -> bool:
        """Append empty blocks until ``count % 8 == parity``: an empty stored block reaches a
        byte boundary from anywhere, empty fixed blocks add 10 bits each. False for an odd
        ``parity``, which they cannot reach."""
        if parity % 2:
            return False
        if self.count % 8 != parity:
            self.value(0, 3)  # an empty stored block: 3 header bits, padding, LEN and NLEN
            self.value(0, -self.count % 8)
            self.value(0xFFFF0000, 32)
            while self.count % 8 != parity:
                self.value(*_EMPTY_FIXED)
        return True

    def _trim(self) -> None:
        """Clear the bits past ``count`` in the last byte (copied from a source)."""
        del self.out[(self.count + 7) // 8 :]
        if self.count % 8:
            self.out[-1] &= (1 << (self.count % 8)) - 1


def _tainted(starts: list[int], ends: list[int], dirty: Sequence[tuple[int, int]]) -> list[bool]:
    """Per block: whether its output, or the window before it, holds a changed byte."""
    return [
        any(a < end and start - WINDOW < b for a, b in dirty)
        for start, end in zip(starts, ends, strict=True)
    ]


def _patched_slice(data: bytes, patches: Sequence[tuple[int, bytes]], lo: int, hi: int) -> bytes:
    out = bytearray(data[lo:hi])
    for offset, raw in patches:
        a, b = max(offset, lo), min(offset + len(raw), hi)
        if a < b:
            out[a - lo : b - lo] = raw[a - offset : b - offset]
    return bytes(out)


def _pieces(data: bytes, patches: Sequence[tuple[int, bytes]]) -> list[memoryview | bytes]:
    view = memoryview(data)
    parts: list[memoryview | bytes] = []
    at = 0
    for offset, raw in patches:
        parts += [view[at:offset], raw]
        at = offset + len(raw)
    parts.append(view[at:])
    return parts


def splice(
    inflated: Inflated, patches: Sequence[tuple[int, bytes]], level: int
) -> SplicedStream | None:
    """A raw deflate stream of ``inflated.data`` with ``patches`` ((offset, bytes), sorted,
    disjoint, inside the content) written over it, reusing the original stream's blocks away
    from them. ``None``: deflate the whole content instead."""
    raw, data, blocks = inflated.raw, inflated.data, inflated.blocks
    size = len(data)
    if any(offset < 0 or offset + len(b) > size for offset, b in patches):
        raise ValueError("a patch lies outside the content")
    bits = [0] + [b for b, _ in blocks]
    outs = [0] + [o for _, o in blocks]
    dirty = [(o, o + len(b)) for o, b in patches]
    tainted = _tainted(outs[:-1], outs[1:], dirty)
    out = _Bits()
    i, count = 0, len(blocks)
    while i < count:
        if not tainted[i]:
            j = i
            while j < count and not tainted[j]:
                j += 1
            out.copy(raw, bits[i], bits[j])
            i = j
            continue
        j = i
        while j < count and (tainted[j] or bits[j] % 2):
            j += 1  # a kept run must start at an even bit: deflate again up to one that does
        body = _deflate(data, patches, outs[i], outs[j], level, j == count)
        out.align_to(0)  # a deflated body may hold stored blocks: it must start on a byte
        out.bytes(body)
        if j < count and not out.align_to(bits[j] % 8):
            return None
        i = j
    digest, crc = hashlib.sha256(), 0
    for part in _pieces(data, patches):
        digest.update(part)
        crc = zlib.crc32(part, crc)
    stream = bytes(out.out)
    if not _inflates_to(stream, size, crc):
        logger.warning("splicing a deflate stream failed its check: deflating it whole")
        return None
    return SplicedStream(stream, digest.digest(), crc, size)


def _deflate(  # noqa: PLR0917 - one run's parts
    data: bytes, patches: Sequence[tuple[int, bytes]], start: int, stop: int, level: int, last: bool
) -> bytes:
    """Deflate the patched content [start, stop), the 32 KiB before it as the dictionary;
    byte-aligned at the end (Z_SYNC_FLUSH), or final."""
    history = _patched_slice(data, patches, max(0, start - WINDOW), start)
    if history:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=history)
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = deflater.compress(_patched_slice(data, patches, start, stop))
    return body + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _inflates_to(stream: bytes, size: int, crc: int) -> bool:
    z = inflate_module()
    inflater = z.decompressobj(-15)
    try:
        out = inflater.decompress(stream)
    except z.error:
        return False
    return bool(inflater.eof and not inflater.unused_data and len(out) == size) and (
        zlib.crc32(out) == crc
    )
