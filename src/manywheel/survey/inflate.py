"""Inflating a deflate stream from its middle, with an unknown 32 KiB window.

A deflate block boundary is not marked: it is found by trying bit positions — a dynamic-Huffman
block header (not the last block) with legal counts and a complete code length code, or a
stored block whose length checks — then by zlib inflating from there without error. zlib only
starts on a byte boundary, and stored blocks align to the stream's own bytes, so the found
position is prefixed with empty fixed-Huffman blocks (and at most one one-literal block) whose
length in bits has the same remainder modulo 8: the alignment is kept without shifting the data.

The window before the found block is unknown: the stream is inflated twice, once after 32 KiB
of zero bytes and once after 32 KiB of 0xFF bytes. Every byte copied from the unknown window —
directly or through other copies — differs between the two decodes; every byte equal in both is
the stream's true content.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Decoded", "find_tail", "find_window"]

_WINDOW = 32 * 1024
_ZEROS = bytes(_WINDOW)
_ONES = b"\xff" * _WINDOW


@dataclass(frozen=True, slots=True)
class Decoded:
    """Content inflated from the block at bit ``bit`` of the compressed data, placed at
    ``start`` (uncompressed); ``zeros`` and ``ones`` are the two decodes (equal where the bytes
    are known)."""

    bit: int
    start: int
    zeros: bytes
    ones: bytes

    @property
    def end(self) -> int:
        return self.start + len(self.zeros)

    def known(self, start: int, end: int) -> bool:
        """Whether [start, end) lies in this piece and every byte of it is known."""
        if start < self.start or end > self.end:
            return False
        a, b = start - self.start, end - self.start
        return self.zeros[a:b] == self.ones[a:b]


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


def _decode(data: bytes, bit: int, filler: int, *, to_the_end: bool = True) -> bytes | None:
    """Inflate ``data`` from its bit ``bit``, the unknown window before it made of ``filler``
    bytes; ``None`` on a decode error, and with ``to_the_end`` unless the stream ends exactly in
    the last byte (else the decode stops where the data does)."""
    stream, skip = _aligned(data, bit, filler)
    inflater = zlib.decompressobj(-15, zdict=_ZEROS if filler == 0 else _ONES)
    try:
        out = inflater.decompress(stream)
    except zlib.error:
        return None
    if to_the_end and (not inflater.eof or inflater.unused_data):
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


def _decodes(
    compressed: bytes, search: int, *, to_the_end: bool, dynamic_only: bool
) -> Iterator[tuple[int, bytes, bytes]]:
    """(bit, zeros, ones) for each block boundary candidate in the first ``search`` bytes whose
    decode is valid (to the end of ``compressed`` with ``to_the_end``)."""
    for bit in _candidates(compressed, search):
        header = int.from_bytes(compressed[bit // 8 : bit // 8 + 2], "little") >> (bit % 8)
        if dynamic_only and header & 0b110 == 0:
            continue  # a stored block "decodes" any bytes: too weak without an end to reach
        if not _plausible(compressed, bit):
            continue
        zeros = _decode(compressed, bit, 0, to_the_end=to_the_end)
        ones = _decode(compressed, bit, 0xFF, to_the_end=to_the_end) if zeros is not None else None
        if zeros is not None and ones is not None and len(ones) == len(zeros):
            yield bit, zeros, ones


def _agree(earlier: tuple[int, bytes, bytes], later: tuple[int, bytes, bytes]) -> bool:
    """Whether two decodes of the same stretch's end, from two block boundaries, say the same
    wherever both know the byte: both are then the stream's content (a false boundary that
    fell back in step with the stream would disagree before it did)."""
    _, zeros, ones = earlier
    _, later_zeros, later_ones = later
    n = len(later_zeros)
    if n > len(zeros):
        return False
    zeros, ones = zeros[len(zeros) - n :], ones[len(ones) - n :]
    step = 4096
    for at in range(0, n, step):
        a0, a1 = zeros[at : at + step], ones[at : at + step]
        b0, b1 = later_zeros[at : at + step], later_ones[at : at + step]
        if a0 in (b0, b1) or a1 == b0:
            continue
        for x0, x1, y0, y1 in zip(a0, a1, b0, b1, strict=True):
            if x0 == x1 and y0 == y1 and x0 != y0:
                return False
    return True


def _confirmed(decodes: Iterator[tuple[int, bytes, bytes]]) -> tuple[int, bytes, bytes] | None:
    """The first decode that the next one agrees with (see :func:`_agree`), cut to where the
    next one starts: its bytes from there are trusted, its first block is not."""
    earlier = next(decodes, None)
    for later in decodes:
        if earlier is not None and _agree(earlier, later):
            _, zeros, ones = earlier
            n = len(later[1])
            return later[0], zeros[len(zeros) - n :], ones[len(ones) - n :]
        earlier = later
    return None


def find_tail(compressed: bytes, *, file_size: int, search: int) -> Decoded | None:
    """Decode the end of a deflate stream from its middle: ``compressed`` is the stream from
    some byte to its very end; ``file_size`` its whole inflated size. The content from the
    second block boundary in the first ``search`` bytes that gives a valid decode to the last
    byte, confirmed by the first (see :func:`_confirmed`); ``None`` when there is none."""
    valid = _decodes(compressed, search, to_the_end=True, dynamic_only=False)
    found = _confirmed(d for d in valid if len(d[1]) <= file_size)
    if found is None:
        return None
    bit, zeros, ones = found
    return Decoded(bit, file_size - len(zeros), zeros, ones)


def find_window(compressed: bytes, *, search: int) -> Decoded | None:
    """Decode a stretch of a deflate stream from its middle to wherever ``compressed`` ends,
    from the second block boundary in its first ``search`` bytes, confirmed by the first (only
    dynamic-Huffman blocks: with no end to reach, a stored block proves nothing). Where the
    stretch lies in the file is not known: ``start`` is 0 (the caller places it)."""
    found = _confirmed(_decodes(compressed, search, to_the_end=False, dynamic_only=True))
    if found is None:
        return None
    bit, zeros, ones = found
    return Decoded(bit, 0, zeros, ones)
