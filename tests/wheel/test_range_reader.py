"""``WheelArchive.open_reader``: a wheel read through any ``RangeReader`` (here: bytes in memory,
as a remote file read by ranges would be) gives the same members, contents, checks and errors as
the same bytes opened from a file; ``will_need`` is told where the local headers lie."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.wheel import Member, RangeReader, WheelArchive
from tests.wheel.builders import RawEntry, raw_zip, wheel_files, write_wheel

WHEEL_NAME = "demo-1.0-py3-none-any.whl"


class BytesReader:
    """The bytes of a file, read at offsets, remembering every read and hint."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.reads: list[tuple[int, int]] = []
        self.hints: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        return len(self._data)

    def pread(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self._data[offset : offset + length]

    def will_need(self, ranges: Iterable[tuple[int, int]]) -> None:
        self.hints.extend(ranges)


def _reader(data: bytes) -> RangeReader:
    return BytesReader(data)


def test_same_members_and_contents_as_the_file(tmp_path: Path) -> None:
    files = wheel_files({f"demo/m{i}.py": f"x = {i}\n".encode() * 50 for i in range(20)})
    path = write_wheel(tmp_path / WHEEL_NAME, files)
    reader = BytesReader(path.read_bytes())
    with WheelArchive.open(path) as local, WheelArchive.open_reader(reader, path) as remote:
        assert remote.members == local.members
        assert remote.header_mismatches == local.header_mismatches
        assert remote.filename == local.filename
        assert remote.record == local.record
        for member in local.members:
            with remote.open_member(member) as stream:
                assert stream.read() == local.read_member(member)
            assert remote.verified_digest(member.name) == local.verified_digest(member.name)
    # the hint named every local header, each where the reader then read it
    assert [offset for offset, _ in reader.hints] == [m.header_offset for m in local.members]
    assert set(reader.hints) <= set(reader.reads)


def test_closing_leaves_the_reader_usable_and_fileno_is_refused(tmp_path: Path) -> None:
    path = write_wheel(tmp_path / WHEEL_NAME, wheel_files({"demo/a.py": b"a = 1\n"}))
    reader = BytesReader(path.read_bytes())
    archive = WheelArchive.open_reader(reader, f"https://example.invalid/{WHEEL_NAME}")
    assert archive.path.name == WHEEL_NAME
    with pytest.raises(io.UnsupportedOperation, match="not read from a local file"):
        archive.fileno()
    archive.close()
    with pytest.raises(ValueError, match="closed"):
        archive.read_member("demo/a.py")
    assert reader.pread(0, 2) == b"PK"


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ([RawEntry(b"../evil", b"x")], UnsafeWheelError),
        ([RawEntry(b"a.py", b"x", local_name=b"b.py")], None),
        ([RawEntry(b"a.py", b"y" * 100, declared_size=10)], None),
    ],
    ids=["traversal", "local-name-lies", "bomb-declared-small"],
)
def test_hostile_bytes_fail_as_they_do_from_a_file(
    tmp_path: Path, entries: list[RawEntry], error: type[Exception] | None
) -> None:
    data = raw_zip(entries)
    path = tmp_path / WHEEL_NAME
    path.write_bytes(data)

    def content(archive: WheelArchive, member: Member) -> object:
        try:
            return archive.read_member(member)
        except InvalidWheelError as e:
            return (type(e), e.message, e.member)

    def outcome(open_archive: Callable[[], WheelArchive]) -> object:
        try:
            with open_archive() as archive:
                return [archive.header_mismatches, *(content(archive, m) for m in archive.members)]
        except InvalidWheelError as e:
            return (type(e), e.message, e.member)

    local = outcome(lambda: WheelArchive.open(path))
    remote = outcome(lambda: WheelArchive.open_reader(_reader(data), path))
    assert remote == local
    if error is not None:
        assert isinstance(local, tuple)
        assert isinstance(local[0], type)
        assert issubclass(local[0], error)


def test_truncated_bytes_are_refused_as_a_truncated_file_is(tmp_path: Path) -> None:
    path = write_wheel(tmp_path / WHEEL_NAME, wheel_files({"demo/a.py": b"a = 1\n" * 100}))
    data = path.read_bytes()[:-30]
    path.write_bytes(data)
    with pytest.raises(InvalidWheelError) as local:
        WheelArchive.open(path)
    with pytest.raises(InvalidWheelError) as remote:
        WheelArchive.open_reader(_reader(data), path)
    assert str(remote.value) == str(local.value)
