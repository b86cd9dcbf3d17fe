"""A remote file read by ranges, against a real server on the loopback interface: the size from
the first answer, reads served from what was fetched, nearby ranges coalesced, every byte
counted; a server ignoring ranges (the whole file, kept); answers that break the protocol, and a
file that changes while it is read, refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from manywheel.survey import FetchError, RangedFile, TransportConfig, UrlTransport
from manywheel.survey.ranged import GAP_BYTES, MIN_FETCH, TAIL_BYTES, coalesce
from tests.survey.server import IndexServer, serve

SIZE = 3 * 2**20


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    root = tmp_path_factory.mktemp("ranged")
    (root / "files").mkdir()
    data = os.urandom(SIZE)
    (root / "files" / "blob.bin").write_bytes(data)
    return root, data


@pytest.fixture
def server(content: tuple[Path, bytes]) -> Iterator[IndexServer]:
    with serve(content[0]) as running:
        yield running


@pytest.fixture
def transport() -> Iterator[UrlTransport]:
    with UrlTransport(TransportConfig(retries=0)) as opened:
        yield opened


def test_coalesce() -> None:
    assert coalesce([(10, 20), (0, 5), (25, 30), (100, 110), (18, 19), (7, 7)], 5) == [
        (0, 30), (100, 110)
    ]  # fmt: skip


def test_reads_are_served_from_fetched_ranges(
    server: IndexServer, content: tuple[Path, bytes], transport: UrlTransport
) -> None:
    data = content[1]
    url = f"{server.url}/files/blob.bin"
    with RangedFile.open(url, transport, limit=1 << 30) as remote:
        assert (remote.size, remote.complete, remote.requests) == (SIZE, False, 1)
        assert remote.pread(SIZE - 100, 100) == data[-100:]  # in the tail: no request
        assert remote.requests == 1
        # three ranges within the gap of each other: one request
        remote.will_need([(1000, 10), (1000 + GAP_BYTES // 2, 10), (1000 + GAP_BYTES, 10)])
        assert remote.requests == 2
        # far apart: one each, in parallel
        remote.will_need([(200_000, 10), (800_000, 10), (1_600_000, 10)])
        assert remote.requests == 5
        assert remote.pread(800_000, 10) == data[800_000:800_010]
        # a read of bytes not fetched fetches at least MIN_FETCH from the first missing one
        assert remote.pread(2_000_000, 3) == data[2_000_000:2_000_003]
        assert remote.missing(2_000_000, 2_000_000 + MIN_FETCH) == []
        assert remote.bytes_fetched == server.bytes_sent
        assert remote.pread(SIZE - 5, 100) == data[-5:]
        assert remote.pread(SIZE + 5, 10) == b""


def test_a_server_ignoring_ranges_sends_the_whole_file(
    content: tuple[Path, bytes], transport: UrlTransport
) -> None:
    root, data = content
    with (
        serve(root, ranges=False) as server,
        RangedFile.open(f"{server.url}/files/blob.bin", transport, limit=1 << 30) as remote,
    ):
        assert (remote.complete, remote.size, remote.bytes_fetched) == (True, SIZE, SIZE)
        assert remote.missing(0, SIZE) == []
        assert os.pread(remote.fileno(), SIZE + 1, 0) == data
        # the temporary file has no name: nothing can be left behind
        assert not Path(f"/proc/self/fd/{remote.fileno()}").resolve().exists()


def test_too_big(server: IndexServer, transport: UrlTransport) -> None:
    with serve(server.root, ranges=False) as whole, pytest.raises(FetchError, match="limit"):
        RangedFile.open(f"{whole.url}/files/blob.bin", transport, limit=SIZE - 1)


def test_a_missing_file(server: IndexServer, transport: UrlTransport) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        RangedFile.open(f"{server.url}/files/nothing.bin", transport, limit=1 << 30)


def test_a_file_that_changes_while_it_is_read(
    server: IndexServer, content: tuple[Path, bytes], transport: UrlTransport, tmp_path: Path
) -> None:
    root, data = content
    with RangedFile.open(f"{server.url}/files/blob.bin", transport, limit=1 << 30) as remote:
        (root / "files" / "blob.bin").write_bytes(data + b"more")
        try:
            with pytest.raises(FetchError, match="changed while it was read"):
                remote.pread(0, 10)
        finally:
            (root / "files" / "blob.bin").write_bytes(data)


def test_the_tail_of_a_file_smaller_than_the_tail_request(
    transport: UrlTransport, tmp_path: Path
) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "small.bin").write_bytes(b"0123456789")
    (tmp_path / "files" / "empty.bin").write_bytes(b"")
    with serve(tmp_path) as server:
        with RangedFile.open(f"{server.url}/files/small.bin", transport, limit=100) as remote:
            assert (remote.size, remote.pread(0, 10)) == (10, b"0123456789")
            assert TAIL_BYTES > 10
        with RangedFile.open(f"{server.url}/files/empty.bin", transport, limit=100) as remote:
            assert (remote.size, remote.pread(0, 10)) == (0, b"")
