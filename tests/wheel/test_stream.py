"""``MemberReader``'s ways through a member agree: a small member read whole in one inflate call,
any member read step by step, and a big member hashed on a thread of its own. Each way refuses
the same hostile data with the same error."""

from __future__ import annotations

import hashlib
import random
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.wheel import MemberReader, WheelArchive, stream
from tests.wheel.builders import RawEntry, raw_zip, wheel_files
from tests.wheel.test_archive import HOSTILE_AT_READ

WHEEL_NAME = "demo-1.0-py3-none-any.whl"
_NOISE = random.Random(7).randbytes(300_000)


def _deflated(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


def _archive(tmp_path: Path, entry: RawEntry) -> Path:
    valid = wheel_files({"demo/__init__.py": b"x = 1\n"})
    entries = [RawEntry(n.encode(), d) for n, d in valid.items()]
    path = tmp_path / WHEEL_NAME
    path.write_bytes(raw_zip([*entries, entry]))
    return path


def _whole(reader: MemberReader) -> bytes:
    return reader.readall()


def _stepwise(reader: MemberReader) -> bytes:
    parts = []
    while chunk := reader.read(4096):
        parts.append(chunk)
    return b"".join(parts)


def _read1(reader: MemberReader) -> bytes:
    """``read1``: what one step gives (never more than asked), ``b""`` only at the end."""
    parts = []
    while chunk := reader.read1(3 << 20):
        assert len(chunk) <= stream.STEP_SIZE
        parts.append(chunk)
    assert reader.read1(10) == b""
    return b"".join(parts)


def _drained(reader: MemberReader) -> bytes:
    reader.drain()
    return b""


WAYS: dict[str, Callable[[MemberReader], bytes]] = {
    "whole": _whole,
    "stepwise": _stepwise,
    "read1": _read1,
    "drain": _drained,
}

CONTENTS = {
    "deflated-noise": (b"demo/noise.bin", _NOISE, True),
    "stored": (b"demo/stored.bin", _NOISE[:5000], False),
    "empty": (b"demo/empty.bin", b"", True),
    "past-the-whole-limit": (b"demo/zeros.bin", b"\0" * (stream.WHOLE_LIMIT + 12345), True),
}


@pytest.mark.parametrize("way", WAYS, ids=list(WAYS))
@pytest.mark.parametrize("case", CONTENTS, ids=list(CONTENTS))
def test_every_way_reads_the_same_bytes_and_digest(tmp_path: Path, case: str, way: str) -> None:
    name, data, deflate = CONTENTS[case]
    path = _archive(tmp_path, RawEntry(name, data, deflate=deflate))
    with WheelArchive.open(path) as archive, archive.open_member(name.decode()) as reader:
        assert reader.small == (len(data) <= stream.WHOLE_LIMIT)
        got = WAYS[way](reader)
        assert reader.sha256() == hashlib.sha256(data).digest()
        assert archive.verified_digest(name.decode()) == hashlib.sha256(data).digest()
    if way != "drain":
        assert got == data


HOSTILE: list[tuple[str, RawEntry, type[Exception], str]] = [
    *HOSTILE_AT_READ,  # a bomb, a member shorter than declared
    (
        "truncated-deflate",
        RawEntry(b"demo/cut.bin", _NOISE[:50_000], payload=_deflated(_NOISE[:50_000])[:-100]),
        InvalidWheelError,
        "ends before the deflate stream does",
    ),
    (
        "data-after-the-stream",
        RawEntry(b"demo/tail.bin", b"hello" * 100, payload=_deflated(b"hello" * 100) + b"junk"),
        InvalidWheelError,
        "continues after the deflate stream ends",
    ),
    (
        "early-end-then-data",  # the stream ends short of the declared size, bytes follow it
        RawEntry(
            b"demo/early.bin",
            b"hello" * 1000,
            declared_size=5010,
            payload=_deflated(b"hello" * 1000) + b"junk",
        ),
        InvalidWheelError,
        "inflated to 5000 bytes, expected 5010",
    ),
    (
        "corrupt-deflate",
        RawEntry(b"demo/bad.bin", b"hello" * 100, payload=b"\xff" * 64),
        InvalidWheelError,
        "corrupt deflate data",
    ),
]


@pytest.mark.parametrize("way", WAYS, ids=list(WAYS))
@pytest.mark.parametrize(
    ("entry", "error", "match"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_every_way_refuses_hostile_data(
    tmp_path: Path, entry: RawEntry, error: type[Exception], match: str, way: str
) -> None:
    path = _archive(tmp_path, entry)
    with WheelArchive.open(path) as archive, archive.open_member(entry.name.decode()) as reader:
        with pytest.raises(error, match=match) as caught:
            WAYS[way](reader)
        assert archive.verified_digest(entry.name.decode()) is None
    assert entry.name.decode() in str(caught.value)


@pytest.fixture
def hash_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every member, however small, is hashed on a thread of its own."""
    monkeypatch.setattr(stream, "HASH_BEHIND_SIZE", 1)


@pytest.mark.usefixtures("hash_behind")
@pytest.mark.parametrize("way", ["stepwise", "drain"])
def test_hashing_behind_gives_the_same_digest(tmp_path: Path, way: str) -> None:
    data = _NOISE * 20  # 6 MB: many steps queued behind the inflate
    path = _archive(tmp_path, RawEntry(b"demo/big.bin", data))
    before = threading.active_count()
    with WheelArchive.open(path) as archive, archive.open_member("demo/big.bin") as reader:
        got = WAYS[way](reader)
        assert reader.sha256() == hashlib.sha256(data).digest()
    assert way == "drain" or got == data
    assert threading.active_count() == before


@pytest.mark.usefixtures("hash_behind")
def test_abandoning_a_stream_hashed_behind_stops_its_thread(tmp_path: Path) -> None:
    path = _archive(tmp_path, RawEntry(b"demo/big.bin", _NOISE * 20))
    before = threading.active_count()
    with WheelArchive.open(path) as archive, archive.open_member("demo/big.bin") as reader:
        reader.read(stream.STEP_SIZE * 3)
        with pytest.raises(ValueError, match="not been read to its end"):
            reader.sha256()
    assert threading.active_count() == before


@pytest.mark.parametrize("case", CONTENTS, ids=list(CONTENTS))
def test_read_member_gives_the_bytes_and_records_the_digest(tmp_path: Path, case: str) -> None:
    name, data, deflate = CONTENTS[case]
    path = _archive(tmp_path, RawEntry(name, data, deflate=deflate))
    with WheelArchive.open(path) as archive:
        assert archive.read_member(name.decode()) == data
        assert archive.verified_digest(name.decode()) == hashlib.sha256(data).digest()


@pytest.mark.parametrize(
    ("entry", "error", "match"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_read_member_refuses_hostile_data(
    tmp_path: Path, entry: RawEntry, error: type[Exception], match: str
) -> None:
    path = _archive(tmp_path, entry)
    with WheelArchive.open(path) as archive:
        with pytest.raises(error, match=match) as caught:
            archive.read_member(entry.name.decode())
        assert archive.verified_digest(entry.name.decode()) is None
    assert entry.name.decode() in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """1 GiB of zeros deflated (about 1 MiB), built a MiB at a time when first needed."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    zeros = bytes(2**20)
    return b"".join(deflater.compress(zeros) for _ in range(1024)) + deflater.flush()


@pytest.mark.parametrize("way", ["read_member", *WAYS], ids=["read_member", *WAYS])
def test_a_high_ratio_bomb_is_refused_without_inflating_it(
    tmp_path: Path, way: str, bomb: bytes
) -> None:
    """Declared 1 MiB, inflating to 1 GiB: refused after at most the declared size + 1 byte."""
    path = _archive(
        tmp_path, RawEntry(b"demo/bomb.bin", b"\0" * 2**20, declared_size=2**20, payload=bomb)
    )
    with WheelArchive.open(path) as archive:
        tracemalloc.start()
        with pytest.raises(UnsafeWheelError, match="zip bomb"):
            if way == "read_member":
                archive.read_member("demo/bomb.bin")
            else:
                with archive.open_member("demo/bomb.bin") as reader:
                    WAYS[way](reader)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # a few copies of the member's own sizes (compressed bytes, unconsumed tail, output), never
    # the gibibyte the bomb would inflate to
    assert peak < 16 * 2**20, f"peak {peak} bytes"


@pytest.mark.usefixtures("hash_behind")
@pytest.mark.parametrize(
    ("entry", "error", "match"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hashing_behind_stops_on_hostile_data(
    tmp_path: Path, entry: RawEntry, error: type[Exception], match: str
) -> None:
    path = _archive(tmp_path, entry)
    before = threading.active_count()
    with (
        WheelArchive.open(path) as archive,
        archive.open_member(entry.name.decode()) as reader,
        pytest.raises(error, match=match),
    ):
        _stepwise(reader)
    assert threading.active_count() == before
