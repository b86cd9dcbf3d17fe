"""Re-deflating a member of which a few bytes changed, reusing its compressed stream: the result
always inflates to the edited content (zlib and python-isal), its CRC-32, size and sha256 are the
edited content's, and away from the changes the original stream's bytes are kept."""

from __future__ import annotations

import hashlib
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
    patches: list[tuple[int, bytes]] = []
    end = 0
    for where, value in sorted(spots):
        offset = max(end, int(where * (len(sample) - len(value))))
        if offset + len(value) <= len(sample):
            patches.append((offset, value))
            end = offset + len(value)
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
