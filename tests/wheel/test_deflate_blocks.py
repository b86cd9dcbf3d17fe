"""A deflate stream's block structure as the splice reads it, against zlib's own inflate driven
here through ``ctypes`` on its own: every block boundary the scan reports, every header parsed
(where its first code starts: zlib's ``Z_TREES`` stop; its end-of-block code: the last bits
of the block), and where the code writing an output position starts (the output decoded from
there, with the block's header, is the original's)."""

from __future__ import annotations

import ctypes
import zlib
from pathlib import Path

import pytest

from manywheel.wheel.deflate_blocks import _ZStream, block_header, scan  # (zlib's z_stream)

SAMPLE = Path("/usr/lib/x86_64-linux-gnu/libz.so.1")
Z_OK, Z_STREAM_END, Z_BUF_ERROR, Z_TREES = 0, 1, -5, 6


def _libz() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libz.so.1")
    except OSError:
        pytest.skip("libz.so.1 cannot be loaded (the splice then deflates whole)")
    lib.zlibVersion.restype = ctypes.c_char_p
    lib.inflateInit2_.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    lib.inflate.argtypes = (ctypes.c_void_p, ctypes.c_int)
    lib.inflateEnd.argtypes = (ctypes.c_void_p,)
    return lib


def _headers(raw: bytes, size: int) -> list[tuple[int, int, int]]:
    """zlib's view of every block: (where it starts, where its first code starts, its type),
    from inflate stopping after each header (``Z_TREES``) and at each block's end."""
    lib = _libz()
    out = ctypes.create_string_buffer(size + 1)
    source = ctypes.c_char_p(raw)
    z = _ZStream()
    assert not lib.inflateInit2_(ctypes.byref(z), -15, lib.zlibVersion(), ctypes.sizeof(z))
    z.next_in = ctypes.cast(source, ctypes.c_void_p).value
    z.avail_in = len(raw)
    z.next_out = ctypes.addressof(out)
    z.avail_out = size + 1
    found: list[tuple[int, int, int]] = []
    start, stuck = 0, 0
    try:
        while True:
            before = (z.total_in, z.total_out, z.data_type)
            code = lib.inflate(ctypes.byref(z), Z_TREES)
            bit = z.total_in * 8 - (z.data_type & 7)
            if code == Z_STREAM_END:
                return found
            # Z_BUF_ERROR: a stop that took no byte in and gave none out (a fixed block's
            # header read from bits already taken), as long as the state moved on
            stuck = stuck + 1 if (z.total_in, z.total_out, z.data_type) == before else 0
            assert code in (Z_OK, Z_BUF_ERROR) and stuck < 2
            if z.data_type & 256:  # just after a header: the block's codes start here
                kind = (int.from_bytes(raw[start // 8 : start // 8 + 2], "little") >> start % 8) & 7
                found.append((start, bit, kind >> 1))
            elif z.data_type & 128:  # at a block's end
                start = bit
    finally:
        lib.inflateEnd(ctypes.byref(z))


def _deflate(data: bytes, level: int, strategy: int) -> bytes:
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    return deflater.compress(data) + deflater.flush()


@pytest.fixture(scope="module")
def sample() -> bytes:
    if not SAMPLE.is_file():
        pytest.skip("no sample binary")
    return SAMPLE.read_bytes() * 3


@pytest.mark.parametrize("strategy", [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FIXED, zlib.Z_RLE])
@pytest.mark.parametrize("level", [1, 6, 9])
def test_headers_as_zlib_reads_them(sample: bytes, level: int, strategy: int) -> None:
    raw = _deflate(sample, level, strategy)
    blocks = _headers(raw, len(sample))
    found = scan(raw, len(sample), len(sample))
    assert found is not None
    ends = [bit for bit, _ in found.ends[:-1]]  # (the last one is rounded up to a byte)
    assert [start for start, _, _ in blocks][1:] == ends[: len(blocks) - 1]
    assert len(blocks) > 3
    for k, (start, codes, kind) in enumerate(blocks):
        header = block_header(raw, start)
        assert header is not None
        assert (header.kind, header.end) == (kind, codes)
        if k + 1 < len(blocks):  # the block's last code is its end-of-block code
            end = blocks[k + 1][0]
            value, bits = header.eob
            last = int.from_bytes(raw[(end - bits) // 8 : end // 8 + 1], "little")
            assert (last >> (end - bits) % 8) & ((1 << bits) - 1) == value


def test_a_stored_block_has_no_header_to_parse() -> None:
    raw = _deflate(bytes(range(256)) * 40, 0, zlib.Z_DEFAULT_STRATEGY)
    assert block_header(raw, 0) is None


@pytest.mark.parametrize("level", [1, 6, 9])
def test_marks_are_where_codes_start(sample: bytes, level: int) -> None:
    """The code that writes each position asked for starts at the mark: from there, after
    its block's header, the original's bits decode to the original's bytes."""
    raw = _deflate(sample, level, zlib.Z_DEFAULT_STRATEGY)
    stops = list(range(5_000, len(sample) - 1000, 37_123))
    found = scan(raw, len(sample), len(sample), stops)
    assert found is not None
    starts = [0] + [at for _, at in found.ends]
    bits = [0] + [bit for bit, _ in found.ends]
    for stop in stops:
        mark = found.marks[stop]
        assert mark is not None
        bit, at = mark
        assert at <= stop < at + 259
        k = max(i for i, s in enumerate(starts) if s <= at)
        header = block_header(raw, bits[k])
        assert header is not None
        # the block's header then its bits from the mark, as a stream of their own
        stream = _join_bits(raw, [(bits[k], header.end), (bit, 8 * len(raw))])
        inflater = zlib.decompressobj(-15, zdict=sample[max(0, at - 32768) : at])
        out = inflater.decompress(stream, 4000)
        assert out == sample[at : at + len(out)]
        assert len(out) >= 4000 or at + len(out) == len(sample)


def _join_bits(raw: bytes, spans: list[tuple[int, int]]) -> bytes:
    """Bits [a, b) of ``raw`` for each span, one after another (deflate's bit order)."""
    value, count = 0, 0
    for a, end in spans:
        b = min(end, a + 8 * 8000)  # enough for what is decoded
        chunk = int.from_bytes(raw[a // 8 : (b + 7) // 8], "little") >> a % 8
        value |= (chunk & ((1 << (b - a)) - 1)) << count
        count += b - a
    return value.to_bytes((count + 7) // 8, "little")


def test_empty_blocks_do_not_hide_the_block_after_them(sample: bytes) -> None:
    """A sync flush puts an empty stored block between two blocks: the scan reports both
    boundaries, and the block that writes the bytes after them starts after the empty one."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = deflater.compress(sample[:20_000]) + deflater.flush(zlib.Z_SYNC_FLUSH)
    raw += deflater.compress(sample[20_000:60_000]) + deflater.flush()
    found = scan(raw, 60_000, 60_000)
    assert found is not None
    at_flush = [bit for bit, at in found.ends if at == 20_000]
    assert len(at_flush) == 2
    header = block_header(raw, at_flush[-1])
    assert header is not None
    assert header.kind in (1, 2)
    assert block_header(raw, at_flush[0]) is None  # the empty stored block
