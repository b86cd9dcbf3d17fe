"""Parse an ELF file from a forward-only stream (a zip member being inflated) with memory
bounded by the size of the tables, not of the file.

How it reads:

1. **One forward pass.** The ELF header and program headers come first, so after the first
   chunk we know where PT_DYNAMIC, PT_INTERP and PT_NOTE lie and keep exactly those bytes when
   the stream passes them, plus a bounded window just before PT_DYNAMIC (where patchelf puts
   the tables it moves). The dynamic tables (.dynsym, .dynstr, .gnu.version*, hash tables)
   that PT_DYNAMIC points to normally come *before* it, near the start of the file, so the pass
   also keeps a prefix of the file: up to the end of the first PT_LOAD when that segment is not
   executable (the default ``-z separate-code`` layout: the prefix is exactly headers + tables +
   relocations), otherwise up to ``buffer_limit`` bytes.
   As soon as PT_DYNAMIC has gone by, the tables it points to that still lie *ahead* are kept
   too, so the layout patchelf leaves behind (auditwheel repair moves ``.dynstr`` to a new
   segment at the end of the file) still takes one pass.
2. **A second pass, only when needed.** If a table lies before PT_DYNAMIC but outside the kept
   prefix (beyond ``buffer_limit`` in a file whose first segment is executable and whose entry
   point does not bound the tables), and the caller gave ``reopen``, the stream is opened again
   and read once more keeping only the regions the dynamic entries point to. Without
   ``reopen`` that case raises :class:`InvalidElfError` saying so ("needs a second pass").

Memory: the kept prefix (at most ``buffer_limit``, 16 MiB by default; for the default
separate-code layout only the first read-only segment) plus PT_DYNAMIC, PT_INTERP, PT_NOTE and
the tables. For libtorch_cpu.so (414 MiB, no separate-code, entry 0) that is the 16 MiB prefix.

Section headers are not read from a stream (``ElfFile.sections`` is empty); every fact comes
from the program headers and PT_DYNAMIC, as the dynamic loader sees the file — but for the
number of dynamic symbols: the section header table (a few KB at the end) is kept when it
passes, and .dynsym's size counts them as the whole-file reader and readelf do (without it, a
file that hashes no symbol is counted up to the table after .dynsym, which moves when an editor
moves the string table). (So a relocatable object, which has no program headers, streams with no
notes and no dynamic facts.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from manywheel.elf.constants import DynamicTag as DT
from manywheel.elf.constants import SegmentFlag
from manywheel.elf.constants import SegmentType as PT
from manywheel.elf.dynamic import AddressMap, parse_dynamic
from manywheel.elf.headers import read_header, read_segments, section_table_range
from manywheel.elf.layout import IDENT, Layout
from manywheel.elf.model import ElfFile, Segment
from manywheel.elf.reader import parse_image
from manywheel.errors import InvalidElfError
from manywheel.lazy import lazy_logger

__all__ = ["DEFAULT_BUFFER_LIMIT", "ByteStream", "read_elf_stream"]

log = lazy_logger(__name__)

#: The most bytes of a file's prefix kept when the layout does not bound it.
DEFAULT_BUFFER_LIMIT = 16 * 2**20
_CHUNK = 2**20
#: The ELF and program headers are kept if they lie within this many bytes (they normally
#: start at byte 52 or 64), whatever ``buffer_limit`` says.
_HEADERS_LIMIT = 2**16
#: Bytes kept just before PT_DYNAMIC in the first pass: patchelf (auditwheel repair) moves the
#: tables it rewrites into segments it appends, right before the new dynamic section; keeping
#: this window (a quarter of the buffer limit) spares those files (scipy's bundled OpenBLAS,
#: say) a second inflate.
_BEFORE_DYNAMIC_SHARE = 4
#: The largest section header table kept (65,536 64-bit headers).
_SECTION_TABLE_LIMIT = 2**22
#: Bytes kept after a version-need/definition table's start in a second pass.
_VERSION_TABLE_LIMIT = 2**20
_TABLE_TAGS = (DT.HASH, DT.GNU_HASH, DT.SYMTAB, DT.STRTAB, DT.VERSYM, DT.VERNEED, DT.VERDEF)


class ByteStream(Protocol):
    """What the stream reader needs: ``read(n)`` returning up to ``n`` bytes, ``b""`` at the
    end (a file, ``zipfile.ZipFile.open(...)``, a socket file...). A stream that also has
    ``read1(n)`` (io's meaning: up to ``n`` bytes, ``b""`` only at the end) is read with it."""

    def read(self, size: int = -1, /) -> bytes: ...


class _NotRetained(Exception):
    """A read asked for bytes the pass did not keep (never escapes this module)."""


class _Pieces:
    """Byte ranges of a file kept from a stream; an ``Image`` over them."""

    __slots__ = ("_name", "_pieces", "_size")

    def __init__(self, name: str, size: int) -> None:
        self._name = name
        self._size = size
        self._pieces: list[tuple[int, bytearray]] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._size

    @property
    def kept(self) -> int:
        return sum(len(p) for _, p in self._pieces)

    def add(self, start: int, data: bytearray) -> None:
        self._pieces.append((start, data))

    def covers(self, offset: int, size: int) -> bool:
        end = offset + size
        return any(s <= offset and end <= s + len(p) for s, p in self._pieces)

    def has(self, offset: int, size: int) -> bool:
        return (
            offset >= 0 and size >= 0 and offset + size <= self._size and self.covers(offset, size)
        )

    def read(self, offset: int, size: int, what: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > self._size:
            raise InvalidElfError(
                f"{what} (0x{size:x} bytes at 0x{offset:x}) runs past the end of the file "
                f"(0x{self._size:x} bytes)",
                path=self._name,
                offset=offset if offset >= 0 else None,
            )
        end = offset + size
        for start, piece in self._pieces:
            if start <= offset and end <= start + len(piece):
                return bytes(piece[offset - start : end - start])
        raise _NotRetained(what, offset, size)


def read_elf_stream(
    stream: ByteStream,
    *,
    size: int,
    name: str,
    reopen: Callable[[], ByteStream] | None = None,
    buffer_limit: int = DEFAULT_BUFFER_LIMIT,
) -> ElfFile:
    """Parse the ``size``-byte ELF file that ``stream`` yields, reading it forward once.

    ``reopen`` (optional) returns a fresh stream of the same bytes; it is called only for the
    unusual layouts a single pass cannot serve (see the module docstring). Raises
    :class:`InvalidElfError` on bad input, on a stream shorter than ``size``, and when a second
    pass is needed but ``reopen`` was not given."""
    pieces = _first_pass(stream, size, name, buffer_limit)
    try:
        return parse_image(pieces, with_sections=False)
    except _NotRetained as missing:
        what = missing.args[0]
        if reopen is None:
            raise InvalidElfError(
                f"{what} lies outside the first {buffer_limit} bytes and before the dynamic "
                "section: reading it from a stream needs a second pass (pass reopen=)",
                path=name,
                offset=missing.args[1],
            ) from None
    regions = _table_regions(pieces, buffer_limit)
    log.debug("%s: second pass for %d table regions", name, len(regions))
    again = reopen()
    try:
        second = _collect(again, size, name, regions)
    finally:
        close = getattr(again, "close", None)
        if close is not None:
            close()
    try:
        return parse_image(second, with_sections=False)
    except _NotRetained as missing:
        raise InvalidElfError(
            f"{missing.args[0]} is laid out too unusually to read from a stream",
            path=name,
            offset=missing.args[1],
        ) from None


class _Keeper:
    """Keeps chosen byte ranges of a stream as it goes past."""

    __slots__ = ("_ranges",)

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._ranges: list[tuple[int, int, bytearray]] = [(s, e, bytearray()) for s, e in ranges]

    def want(self, start: int, end: int, recent: bytes | bytearray, recent_at: int) -> None:
        """Keep [start, end) from now on; ``recent`` holds the bytes from ``recent_at`` up to
        where the stream is. A range whose start went by before ``recent_at`` stays missing."""
        if start >= recent_at + len(recent):
            self._ranges.append((start, end, bytearray()))
        elif start >= recent_at:
            buf = bytearray(recent[start - recent_at : end - recent_at])
            self._ranges.append((start, end, buf))

    def feed(self, pos: int, chunk: bytes) -> None:
        end = pos + len(chunk)
        for start, stop, buf in self._ranges:
            nxt = start + len(buf)
            if pos <= nxt < end and nxt < stop:
                buf.extend(chunk[nxt - pos : min(stop, end) - pos])

    def into(self, pieces: _Pieces) -> None:
        for start, _, buf in self._ranges:
            if buf:
                pieces.add(start, buf)


def _reader(stream: ByteStream) -> Callable[[int], bytes]:
    """How to read ``stream``: its ``read1`` when it has one (at most ``n`` bytes, what is at
    hand: no pieces joined into a full ``n``), else its ``read``."""
    read1: Callable[[int], bytes] | None = getattr(stream, "read1", None)
    return read1 if read1 is not None else stream.read


def _read_chunk(read: Callable[[int], bytes], pos: int, size: int, name: str) -> bytes:
    chunk = read(min(_CHUNK, size - pos))
    if not chunk:
        raise InvalidElfError(
            f"the stream ended after {pos} of its {size} bytes", path=name, offset=pos
        )
    return chunk


def _first_pass(stream: ByteStream, size: int, name: str, limit: int) -> _Pieces:
    head = bytearray()
    prefix_end = min(size, max(limit, _HEADERS_LIMIT))
    keeper: _Keeper | None = None
    dynamic_end: int | None = None
    pos = 0
    read = _reader(stream)
    while pos < size:
        chunk = _read_chunk(read, pos, size, name)
        if pos < prefix_end:
            head += chunk[: prefix_end - pos]
        if keeper is not None:
            keeper.feed(pos, chunk)
        chunk_at, pos = pos, pos + len(chunk)
        if keeper is None:
            plan = _plan(head, name, size, limit)
            if plan is not None:
                prefix_end, ranges, dynamic_end = plan
                keeper = _Keeper()
                for start, end in ranges:
                    keeper.want(start, end, head, 0)
                del head[prefix_end:]
        if keeper is not None and dynamic_end is not None and pos >= dynamic_end:
            # PT_DYNAMIC is complete: keep the tables still ahead (e.g. a .dynstr that patchelf
            # moved behind .dynamic), starting with what this chunk already holds
            for start, end in _tables_ahead(name, size, head, keeper, limit):
                keeper.want(start, end, chunk, chunk_at)
            dynamic_end = None
    pieces = _Pieces(name, size)
    pieces.add(0, head)
    if keeper is not None:
        keeper.into(pieces)
    log.debug("%s: streamed %d bytes, kept %d", name, size, pieces.kept)
    return pieces


def _tables_ahead(
    name: str, size: int, head: bytearray, keeper: _Keeper, limit: int
) -> list[tuple[int, int]]:
    """The table regions PT_DYNAMIC points to that the prefix does not hold."""
    probe = _Pieces(name, size)
    probe.add(0, head)
    keeper.into(probe)
    try:
        regions = _table_regions(probe, limit)
    except InvalidElfError:
        return []  # the parse proper will say what is wrong
    return [(s, e) for s, e in regions if e > len(head)]


def _plan(
    head: bytearray, name: str, size: int, limit: int
) -> tuple[int, list[tuple[int, int]], int | None] | None:
    """(prefix end, ranges to keep, end of PT_DYNAMIC) once ``head`` holds the ELF and program
    headers; ``None`` while it does not yet."""
    probe = _Pieces(name, size)
    probe.add(0, head)
    if len(head) < min(size, IDENT.size + 48):
        return None
    try:
        layout, header, raw = read_header(probe)
        segments = read_segments(probe, layout, raw)
    except _NotRetained:
        if len(head) < min(size, max(limit, _HEADERS_LIMIT)):
            return None
        return len(head), [], None
    keep = (PT.DYNAMIC, PT.INTERP, PT.NOTE)
    ranges = [(s.offset, s.offset + s.filesz) for s in segments if s.p_type in keep]
    ranges += _section_table(layout, raw, size)
    dynamic = next((s for s in segments if s.p_type == PT.DYNAMIC), None)
    dynamic_end = dynamic.offset + dynamic.filesz if dynamic else None
    headers_end = raw[4] + raw[8] * raw[9] if segments else layout.ehdr.size + IDENT.size
    prefix = max(_prefix_end(segments, header.entry, size, limit), headers_end)
    if dynamic is not None and dynamic.offset > prefix:
        window = limit // _BEFORE_DYNAMIC_SHARE
        ranges.append((max(prefix, dynamic.offset - window), dynamic.offset))
    return prefix, ranges, dynamic_end


def _section_table(layout: Layout, raw: tuple[int, ...], size: int) -> list[tuple[int, int]]:
    """The section header table's range, kept for .dynsym's size (how many dynamic symbols
    there are, as the whole-file reader and readelf count them); bounded."""
    span = section_table_range(raw, layout)
    if span is None or span[1] > size or span[1] - span[0] > _SECTION_TABLE_LIMIT:
        return []
    return [span]


def _prefix_end(segments: tuple[Segment, ...], entry: int, size: int, limit: int) -> int:
    """How much of the file's start to keep: the dynamic tables precede the code."""
    loads = sorted((s for s in segments if s.p_type == PT.LOAD), key=lambda s: s.offset)
    end = min(size, limit)
    if not loads or loads[0].offset != 0:
        return end
    first = loads[0]
    if not first.flags & SegmentFlag.X:
        return min(end, first.filesz)
    if first.vaddr < entry < first.vaddr + first.filesz:  # the tables come before the code
        return min(end, entry - first.vaddr)
    return end


def _collect(stream: ByteStream, size: int, name: str, regions: list[tuple[int, int]]) -> _Pieces:
    keeper = _Keeper(regions)
    pos = 0
    read = _reader(stream)
    while pos < size:
        chunk = _read_chunk(read, pos, size, name)
        keeper.feed(pos, chunk)
        pos += len(chunk)
    pieces = _Pieces(name, size)
    keeper.into(pieces)
    log.debug("%s: second pass kept %d bytes", name, pieces.kept)
    return pieces


def _table_regions(pieces: _Pieces, limit: int) -> list[tuple[int, int]]:
    """The byte ranges a second pass must keep: headers, the segments the first pass kept, and
    each dynamic table from its start to the next table (or a bound)."""
    try:
        layout, _, raw = read_header(pieces)
        segments = read_segments(pieces, layout, raw)
        dyn = next(s for s in segments if s.p_type == PT.DYNAMIC)
        entries = parse_dynamic(layout, pieces.read(dyn.offset, dyn.filesz, "PT_DYNAMIC"))
    except (_NotRetained, StopIteration) as e:
        raise InvalidElfError(
            "the program headers or PT_DYNAMIC are laid out too unusually to read from a stream",
            path=pieces.name,
        ) from e
    tags = dict(reversed(entries))
    addresses = AddressMap(pieces, segments)
    starts = {t: addresses.offset(tags[t], 1, f"DT_{t.name}") for t in _TABLE_TAGS if t in tags}
    ordered = sorted(set(starts.values()))
    regions = [(0, raw[4] + raw[8] * raw[9]), *_section_table(layout, raw, pieces.size)]
    regions += [(s.offset, s.offset + s.filesz) for s in segments if s.p_type != PT.LOAD]
    for tag, start in starts.items():
        later = [o for o in ordered if o > start]
        end = min([*later[:1], _segment_end(segments, start), start + limit])
        if tag == DT.STRTAB:
            end = start + tags.get(DT.STRSZ, end - start)
        elif tag in (DT.VERNEED, DT.VERDEF):
            end = min(end, start + _VERSION_TABLE_LIMIT)
        regions.append((start, end))
    return regions


def _segment_end(segments: tuple[Segment, ...], offset: int) -> int:
    for s in segments:
        if s.p_type == PT.LOAD and s.offset <= offset < s.offset + s.filesz:
            return s.offset + s.filesz
    return offset
