"""Reading big ELF members in part: inflating a deflate stream from a block found in its middle
(property-tested over streams of every zlib strategy and level: whatever it returns as known is
the true content at the true offset), the ELF facts of real members read sparsely over HTTP
equal the facts of the whole member, and damaged members give only the documented errors."""

from __future__ import annotations

import contextlib
import random
import shutil
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manywheel.elf import read_elf_stream
from manywheel.errors import InvalidElfError, InvalidWheelError
from manywheel.survey import RangedFile, TransportConfig, UrlTransport
from manywheel.survey.inflate import _ALIGN, _fixed_blocks, find_tail, find_window
from manywheel.survey.sparse import SparseOptions, read_elf_sparse
from manywheel.wheel import Member, WheelArchive
from tests.survey.audits import MISLABELLED
from tests.survey.conftest import local_wheel
from tests.survey.server import IndexServer, serve

_STRATEGIES = [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE,
               zlib.Z_FIXED]  # fmt: skip


def test_alignment_blocks_have_the_right_length_and_decode_to_nothing_but_the_literal() -> None:
    for rest, (empty, literal) in _ALIGN.items():
        value, length = _fixed_blocks(empty, 0x90 if literal else None)
        assert length % 8 == rest
        final = value | (0b011 << length)  # a final empty fixed block ends the stream
        stream = final.to_bytes((length + 10 + 7) // 8, "little")
        assert zlib.decompress(stream, -15) == (b"\x90" if literal else b"")


def _content(rng: random.Random, size: int) -> bytes:
    """Data of the kinds ELF files hold: code-like noise, text, zeros, repeats."""
    parts: list[bytes] = []
    while sum(len(p) for p in parts) < size:
        kind = rng.randrange(4)
        n = rng.randrange(1, 40_000)
        if kind == 0:
            parts.append(rng.randbytes(n))
        elif kind == 1:
            parts.append(b" ".join(rng.choice([b"GLIBC_2.17", b"memcpy", b"PyInit_x", b"lib"])
                                   for _ in range(n // 8)))  # fmt: skip
        elif kind == 2:
            parts.append(bytes(n))
        else:
            parts.append(rng.randbytes(64) * (n // 64 + 1))
    return b"".join(parts)[:size]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(1_000, 400_000),
    level=st.integers(1, 9),
    strategy=st.sampled_from(_STRATEGIES),
    cut=st.floats(0.0, 0.95),
)
def test_what_a_tail_decode_knows_is_true(
    seed: int, size: int, level: int, strategy: int, cut: float
) -> None:
    data = _content(random.Random(seed), size)
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    compressed = deflater.compress(data) + deflater.flush()
    start = int(len(compressed) * cut)
    found = find_tail(compressed[start:], file_size=len(data), search=64 * 1024)
    if found is None:
        return
    real = data[found.start :]
    assert len(found.zeros) == len(found.ones) == len(real)
    known = [i for i, (a, b) in enumerate(zip(found.zeros, found.ones, strict=True)) if a == b]
    assert all(found.zeros[i] == real[i] for i in known)
    assert len(known) > len(real) // 2 or len(real) < 64 * 1024


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), level=st.integers(1, 9), cut=st.floats(0.05, 0.8))
def test_what_a_window_decode_knows_is_true_somewhere(seed: int, level: int, cut: float) -> None:
    """A window decode does not know where it lies: its known bytes must all be the stream's
    content at one offset (found here by a long known run, unique in the data)."""
    data = _content(random.Random(seed), 300_000) + random.Random(seed).randbytes(50_000)
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    compressed = deflater.compress(data) + deflater.flush()
    start = int(len(compressed) * cut)
    found = find_window(compressed[start : start + 60_000], search=32 * 1024)
    if found is None:
        return
    runs = [i for i in range(0, len(found.zeros) - 64, 64)
            if found.zeros[i : i + 64] == found.ones[i : i + 64]]  # fmt: skip
    anchors = [(i, data.find(found.zeros[i : i + 64])) for i in runs]
    anchors = [(i, at) for i, at in anchors if at >= 0 and data.count(found.zeros[i : i + 64]) == 1]
    if not anchors:
        return
    i, at = anchors[0]
    offset = at - i
    known = [k for k in range(len(found.zeros)) if found.zeros[k] == found.ones[k]]
    assert all(data[offset + k] == found.zeros[k] for k in known)


def test_tails_are_found_in_streams_of_every_strategy() -> None:
    data = _content(random.Random(7), 600_000)
    for strategy in _STRATEGIES:
        for level in (1, 6, 9):
            deflater = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
            compressed = deflater.compress(data) + deflater.flush()
            if strategy == zlib.Z_FIXED:
                continue  # fixed-Huffman blocks are not searched for: the read falls back
            found = find_tail(compressed[len(compressed) // 2 :], file_size=len(data),
                              search=256 * 1024)  # fmt: skip
            assert found is not None, (strategy, level)
            assert found.start < len(data)


def _big_members(archive: WheelArchive) -> list[Member]:
    return [m for m in archive.members if m.compressed_size > 256 * 1024]


@pytest.mark.parametrize(
    "wheel",
    [
        MISLABELLED,
        "maturin-1.15.0-py3-none-manylinux_2_12_x86_64."
        "manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
    ],
)
def test_real_members_read_in_part_give_the_whole_members_facts(wheel: str) -> None:
    path = local_wheel(wheel)
    with (
        serve(path.parent.parent) as server,
        WheelArchive.open(path) as local,
        UrlTransport(TransportConfig()) as transport,
    ):
        url = f"{server.url}/files/{path.name}"
        with RangedFile.open(url, transport, limit=1 << 32) as remote:
            archive = WheelArchive.open_reader(remote, path.name)
            members = _big_members(archive)
            assert members
            for member in members:
                before = remote.bytes_fetched
                sparse = read_elf_sparse(archive, member, remote, SparseOptions())
                with local.open_member(member.name) as stream:
                    whole = read_elf_stream(stream, size=member.file_size, name=member.name)
                assert sparse == whole
                assert remote.bytes_fetched - before < 0.5 * member.compressed_size


@pytest.fixture(scope="module")
def damaged_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    source = local_wheel(MISLABELLED)
    root = tmp_path_factory.mktemp("damaged")
    (root / "files").mkdir()
    shutil.copy(source, root / "files" / source.name)
    with serve(root) as server:
        yield server


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(where=st.floats(0.0, 1.0), value=st.integers(0, 255), width=st.integers(1, 64))
def test_damaged_members_give_only_the_documented_errors(
    damaged_copy: IndexServer, where: float, value: int, width: int
) -> None:
    """Bytes of the big member overwritten: the facts, or InvalidWheelError/InvalidElfError
    (the damage may lie in bytes a sparse read never fetches: then the facts are those of the
    undamaged parts, as the CRC the whole read would check is not read)."""
    server = damaged_copy
    path = server.root / "files" / MISLABELLED
    pristine = local_wheel(MISLABELLED).read_bytes()
    with WheelArchive.open(local_wheel(MISLABELLED)) as local:
        [member] = _big_members(local)
    at = member.data_offset + int((member.compressed_size - width) * where)
    path.write_bytes(pristine[:at] + bytes([value]) * width + pristine[at + width :])
    url = f"{server.url}/files/{MISLABELLED}"
    with (
        UrlTransport(TransportConfig(retries=0)) as transport,
        RangedFile.open(url, transport, limit=1 << 32) as remote,
        contextlib.suppress(InvalidWheelError, InvalidElfError),
    ):
        archive = WheelArchive.open_reader(remote, MISLABELLED)
        read_elf_sparse(archive, archive.member(member.name), remote, SparseOptions())
