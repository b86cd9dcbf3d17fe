"""Re-deflating a member of which a few bytes changed, reusing its compressed stream: the result
always inflates to the edited content (zlib and python-isal), its CRC-32, size and sha256 are the
edited content's, and away from the changes the original stream's bytes are kept."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manywheel.wheel.splice import inflate, splice

SAMPLES = [Path("/usr/lib/x86_64-linux-gnu/libz.so.1"), Path("/usr/bin/python3")]


def _deflate(data: bytes, level: int) -> bytes:
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


def _patched(data: bytes, patches: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(data)
    for offset, raw in patches:
        out[offset : offset + len(raw)] = raw
    return bytes(out)


def _check(raw: bytes, data: bytes, patches: list[tuple[int, bytes]], level: int) -> bytes:
    spliced = splice(raw, data, patches, level)
    assert spliced is not None
    expected = _patched(data, patches)
    assert zlib.decompress(spliced.data, -15) == expected
    try:
        from isal import isal_zlib
    except ImportError:
        pass
    else:
        assert isal_zlib.decompress(spliced.data, -15) == expected
    assert (spliced.crc, spliced.size) == (zlib.crc32(expected), len(expected))
    assert spliced.sha256 == hashlib.sha256(expected).digest()
    return spliced.data


@pytest.fixture(scope="module")
def sample() -> bytes:
    path = next((p for p in SAMPLES if p.is_file()), None)
    if path is None:
        pytest.skip("no sample binary")
    data = path.read_bytes()
    while len(data) < 400_000:
        data += data
    return data


def _placed(data: bytes, spots: list[tuple[float, bytes]]) -> list[tuple[int, bytes]]:
    """Patches at the relative positions drawn, sorted, disjoint, inside ``data``."""
    patches: list[tuple[int, bytes]] = []
    end = 0
    for where, value in sorted(spots):
        offset = max(end, int(where * (len(data) - len(value))))
        if offset + len(value) <= len(data):
            patches.append((offset, value))
            end = offset + len(value)
    return patches


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    level=st.sampled_from([0, 1, 6, 9]),
    spots=st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=300)),
        max_size=5,
    ),
)
def test_random_patches(sample: bytes, level: int, spots: list[tuple[float, bytes]]) -> None:
    raw = _deflate(sample, level)
    patches = _placed(sample, spots)
    _check(raw, sample, patches, level)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_a_change_near_the_start_keeps_the_rest_of_the_stream(sample: bytes, level: int) -> None:
    """What an ELF edit in place does (a string near the start): most of the compressed bytes
    are the original's, unchanged."""
    raw = _deflate(sample, level)
    out = _check(raw, sample, [(5000, b"$ORIGIN\0\0\0\0")], level)
    common = 0
    while common < min(len(raw), len(out)) and raw[-1 - common] == out[-1 - common]:
        common += 1
    assert common > len(raw) * 0.7


@pytest.mark.parametrize(
    "patches",
    [
        [],
        [(0, b"x")],
        [(-1, b"y")],
        [(100, b"a"), (101, b"b")],
        [(70_000, b"z" * 70_000)],
    ],
    ids=["nothing", "first-byte", "last-byte", "adjacent", "long"],
)
def test_edges(sample: bytes, patches: list[tuple[int, bytes]]) -> None:
    fixed = [(o if o >= 0 else len(sample) + o, b) for o, b in patches]
    raw = _deflate(sample, 6)
    out = _check(raw, sample, fixed, 6)
    if not patches:
        assert out == raw


def test_one_block_streams(sample: bytes) -> None:
    small = sample[:3000]
    _check(_deflate(small, 6), small, [(1000, b"hello")], 6)


def test_streams_zlib_did_not_make(sample: bytes) -> None:
    """python-isal's deflate makes other blocks (and other boundaries) than zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        pytest.skip("python-isal is not installed on this machine")
    for level in (0, 1, 2, 3):
        deflater = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
        raw = deflater.compress(sample) + deflater.flush()
        _check(raw, sample, [(200_000, b"patched")], 6)


def test_inflate_checks_size_and_crc(sample: bytes) -> None:
    raw = _deflate(sample, 6)
    assert inflate(raw, len(sample), zlib.crc32(sample)) == sample
    assert inflate(raw, len(sample), zlib.crc32(sample) ^ 1) is None
    assert inflate(raw, len(sample) + 1, zlib.crc32(sample)) is None
    assert inflate(raw[: len(raw) // 2], len(sample), zlib.crc32(sample)) is None


def test_patches_outside_the_content_are_refused(sample: bytes) -> None:
    raw = _deflate(sample, 6)
    with pytest.raises(ValueError, match="outside the content"):
        splice(raw, sample, [(len(sample) - 1, b"ab")], 6)


STRATEGIES = [
    zlib.Z_DEFAULT_STRATEGY,
    zlib.Z_FILTERED,
    zlib.Z_HUFFMAN_ONLY,
    zlib.Z_RLE,
    zlib.Z_FIXED,
]
FLUSHES = [
    zlib.Z_NO_FLUSH,
    zlib.Z_SYNC_FLUSH,
    zlib.Z_FULL_FLUSH,
    zlib.Z_PARTIAL_FLUSH,
    zlib.Z_BLOCK,
]


def _compress(data: bytes, level: int, strategy: int, mem_level: int, cuts: list[int]) -> bytes:
    """``data`` deflated (raw) with these settings, flushed as asked at each cut (a cut's
    flush mode is chosen by its position: streams with stored, partial and aligned block
    ends)."""
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15, mem_level, strategy)
    out, at = [], 0
    for cut in sorted(set(cuts)):
        out.append(deflater.compress(data[at:cut]))
        out.append(deflater.flush(FLUSHES[cut % len(FLUSHES)]))
        at = cut
    out.append(deflater.compress(data[at:]) + deflater.flush())
    return b"".join(out)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    level=st.integers(0, 9),
    strategy=st.sampled_from(STRATEGIES),
    mem_level=st.sampled_from([1, 8, 9]),
    cuts=st.lists(st.integers(1, 399_999), max_size=3),
    spots=st.lists(
        st.tuples(
            st.floats(0, 1, allow_nan=False),
            st.integers(1, 400),
            st.sampled_from(["zeros", "random", "reversed", "string"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_every_zlib_strategy_and_level(  # noqa: PLR0917 - what hypothesis draws
    sample: bytes,
    level: int,
    strategy: int,
    mem_level: int,
    cuts: list[int],
    spots: list[tuple[float, int, str]],
) -> None:
    """Whatever made the stream (every level and strategy, memory level, flushes that end
    blocks on and off a byte), an edit that zeroes bytes, writes new ones, rewrites a string
    of the same length or reverses one is spliced into it: the result inflates to exactly the
    edited bytes."""
    data = sample[:400_000]
    raw = _compress(data, level, strategy, mem_level, cuts)
    patches: list[tuple[int, bytes]] = []
    end = 0
    for where, length, kind in sorted(spots):
        offset = max(end, int(where * (len(data) - length)))
        if offset + length > len(data):
            break
        old = data[offset : offset + length]
        value = {
            "zeros": bytes(length),
            "random": os.urandom(length),
            "reversed": old[::-1],
            "string": b"$ORIGIN:$ORIGIN/../lib".ljust(length, b"\0")[:length],
        }[kind]
        patches.append((offset, value))
        end = offset + length
    _check(raw, data, patches, 6)


def _shared(raw: bytes, out: bytes) -> tuple[int, int]:
    """How many bytes ``out`` has in common with ``raw`` at the start and at the end."""
    head = 0
    while head < min(len(raw), len(out)) and raw[head] == out[head]:
        head += 1
    tail = 0
    while tail < min(len(raw), len(out)) - head and raw[-1 - tail] == out[-1 - tail]:
        tail += 1
    return head, tail


def _one_big_block(sample: bytes) -> tuple[bytes, bytes, int]:
    """ELF bytes with 66 random bytes at 70 000 (no later code copies them), deflated as one
    block of 100 000 bytes then more (as zlib's first block of torch's test programs)."""
    random = __import__("random").Random(16)
    data = bytearray(sample[:300_000])
    data[70_000:70_066] = bytes(random.randrange(256) for _ in range(66))
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = deflater.compress(bytes(data[:100_000])) + deflater.flush(zlib.Z_BLOCK)
    raw += deflater.compress(bytes(data[100_000:])) + deflater.flush()
    return raw, bytes(data), 70_000


def test_a_change_inside_a_block_is_taken_up_again_right_after(sample: bytes) -> None:
    """The torch case: a string written over inside a block of 100 KB. The original's codes
    are kept up to the change and taken up again right after it (their block's header written
    again): only the few hundred bytes around the change are made again, not the rest of the
    block."""
    raw, data, at = _one_big_block(sample)
    out = _check(raw, data, [(at, b"$ORIGIN:$ORIGIN/../lib".ljust(66, b"\0"))], 6)
    head, tail = _shared(raw, out)
    assert len(raw) - head - tail < 600  # (the old way: the 30 KB to the block's end)
    assert head > len(raw) // 10


def test_codes_that_copy_a_change_are_made_again(sample: bytes) -> None:
    """A later string that zlib wrote as a copy of the one changed: its code would copy the
    new bytes, so it is made again too (and only it)."""
    text = b"/lib/intel64:/lib/intel64_win:/lib/win-x64:" * 2
    data = bytearray(sample[:300_000])
    data[60_000 : 60_000 + len(text)] = text
    data[75_000 : 75_000 + len(text)] = text  # 15 KB later: a back-reference to the first
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = deflater.compress(bytes(data)) + deflater.flush()
    out = _check(raw, bytes(data), [(60_000, bytes(len(text)))], 6)
    head, tail = _shared(raw, out)
    assert len(raw) - head - tail < 30_000


def test_a_change_at_the_start_of_a_self_referencing_stream(sample: bytes) -> None:
    """The ELF header changed: many later codes copy it, and those that do are made again
    (the result is checked, however many there are)."""
    for level in (1, 6, 9):
        raw = _deflate(sample, level)
        _check(raw, sample, [(0, b"\x7fELF\x01\x02\x01"), (40, bytes(24))], level)


def test_a_change_in_a_stored_block(sample: bytes) -> None:
    """Incompressible bytes are stored: the change is deflated again to the stored block's
    end (stored bytes have no codes to take up)."""
    data = os.urandom(200_000)
    raw = _deflate(data, 6)
    _check(raw, data, [(100_000, b"patched"), (150_000, bytes(300))], 6)


def test_the_final_block_cut_is_no_longer_final(sample: bytes) -> None:
    """A change in the last block, which is cut and closed: it must not stay marked final."""
    small = sample[:50_000]
    raw = _deflate(small, 9)
    _check(raw, small, [(49_000, b"end")], 9)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    level=st.integers(0, 3),
    spots=st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=200)),
        min_size=1,
        max_size=4,
    ),
)
def test_random_patches_in_isal_streams(
    sample: bytes, level: int, spots: list[tuple[float, bytes]]
) -> None:
    """python-isal's deflate (what other tools' wheels may be written with) makes blocks of
    its own, and headers zlib never writes."""
    try:
        from isal import isal_zlib
    except ImportError:
        pytest.skip("python-isal is not installed on this machine")
    deflater = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    raw = deflater.compress(sample) + deflater.flush()
    patches = _placed(sample, spots)
    _check(raw, sample, patches, 6)
