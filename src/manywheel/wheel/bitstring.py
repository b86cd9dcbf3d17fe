"""A little-endian bit string being built (deflate's bit order), for joining runs of one deflate
stream's bits to new ones: runs copied byte for byte where they fall at the same position
within a byte, short ones (a block header) at any position, and empty blocks to get from any
position to another."""

from __future__ import annotations

__all__ = ["EMPTY_DYNAMIC", "EMPTY_FIXED", "BitString"]

#: Empty blocks (value, bit count), deflate's bit order: a fixed one, and a dynamic one whose
#: only code is end-of-block, with 19 code-length code lengths (95 bits).
EMPTY_FIXED = (0b010, 10)
EMPTY_DYNAMIC = (0x1F5BF820000000000881E004, 95)


class BitString:
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
            self.value(*EMPTY_DYNAMIC)
        while self.count % 8 != position % 8:
            self.value(*EMPTY_FIXED)
