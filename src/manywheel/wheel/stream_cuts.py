"""Where a deflate stream is cut before a change and taken up again after it: the blocks of the
original stream (from one inflate of its start, :func:`~manywheel.wheel.deflate_blocks.scan`),
the code that writes a given output position in each, and each block's header — read once
each, as the splice asks for them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from manywheel.wheel.deflate_blocks import BlockHeader, Scan, block_header, cut, scan

__all__ = [
    "LONGEST",
    "WINDOW",
    "Cut",
    "Join",
    "Resume",
    "StreamMap",
    "Unknown",
    "merged_regions",
    "plan_joins",
]

WINDOW = 32768
#: The longest a single code's output can be (a match of 258 bytes).
LONGEST = 258
#: Changes closer than this are deflated again as one.
JOIN = 1024


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a run of the original's bits ends, before content deflated again: the original is
    kept up to bit ``bit`` (output position ``at``); ``header``: the block being cut there, to
    be closed with its end-of-block code (``None``: ``bit`` is a block boundary)."""

    bit: int
    at: int
    block: int = 0
    header: tuple[int, int, bool] | None = None  # (eob value, eob bits, final)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where the original's bits are taken up again after content deflated again: at bit
    ``bit`` (output position ``at``), after the header of its block (bits [header[0],
    header[1]) of the original, written again; ``None``: ``bit`` is a block boundary)."""

    bit: int
    at: int
    header: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """Content deflated again, [cut.at, resume.at) (no resume: to the end)."""

    cut: Cut
    resume: Resume | None


class Unknown(Exception):
    """A position past the blocks whose ends were read."""


class StreamMap:
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
            raise Unknown(position)  # past the blocks read
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

    def cut_before(self, position: int) -> Cut:
        """Keep the original up to the last code that ends at or before ``position``."""
        k = self.block_of(position)
        start, bit = self.bounds[k], self.bits[k]
        header = self._header(k) if position > start else None
        found = None if header is None else self._cut(k, position)
        if header is None or found is None:
            return Cut(bit, start)
        return Cut(found[0], start + found[1], bit, (*header.eob, header.final))

    def resume_after(self, position: int) -> Resume | None:
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
                return Resume(found[0], start + found[1], (self.bits[k], header.end))
        return None if end >= len(self.data) else Resume(self.bits[k + 1], end)

    def join(self, start: int, end: int) -> Join:
        return Join(self.cut_before(start), self.resume_after(end))


def merged_regions(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` sorted, those closer than ``JOIN`` joined."""
    regions: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if regions and a - regions[-1][1] < JOIN:
            regions[-1] = (regions[-1][0], max(regions[-1][1], b))
        else:
            regions.append((a, b))
    return regions


def plan_joins(stream: StreamMap, regions: Sequence[tuple[int, int]]) -> list[Join]:
    """A join per region; regions whose joins would meet are made one."""
    joins: list[Join] = []
    starts: list[int] = []
    for first, end in regions:
        start, join = first, stream.join(first, end)
        while joins and ((last := joins[-1].resume) is None or join.cut.at < last.at + JOIN):
            joins.pop()
            start = starts.pop()
            join = stream.join(start, end)
        joins.append(join)
        starts.append(start)
    return joins
