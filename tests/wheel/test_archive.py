"""Reading wheels: real ones agree with zipfile member by member; hostile ones are refused with
one clear error naming the member, and are never modified."""

from __future__ import annotations

import hashlib
import stat
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from manywheel.errors import InvalidWheelError, UnsafeWheelError
from manywheel.wheel import WheelArchive
from tests.wheel.builders import RawEntry, raw_zip, wheel_files, write_wheel

WHEEL_NAME = "demo-1.0-py3-none-any.whl"


@pytest.mark.parametrize("key", ["pyyaml", "six"])
def test_real_wheel_members_match_zipfile(real_wheels: dict[str, Path], key: str) -> None:
    path = real_wheels[key]
    with WheelArchive.open(path) as archive, zipfile.ZipFile(path) as reference:
        infos = reference.infolist()
        assert [m.name for m in archive.members] == [i.filename for i in infos]
        for member, info in zip(archive.members, infos, strict=True):
            assert (member.file_size, member.compressed_size, member.crc) == (
                info.file_size,
                info.compress_size,
                info.CRC,
            )
            assert member.mode == info.external_attr >> 16
            assert archive.read_member(member) == reference.read(info)


def test_real_wheel_metadata(real_wheels: dict[str, Path]) -> None:
    with WheelArchive.open(real_wheels["pyyaml"]) as archive:
        assert archive.filename.name == "PyYAML"
        assert archive.filename.platform_tags == ("manylinux_2_17_x86_64", "manylinux2014_x86_64")
        assert archive.dist_info == "PyYAML-6.0.2.dist-info"
        assert archive.metadata.name == "PyYAML"
        assert archive.metadata.version == "6.0.2"
        info = archive.wheel_info
        assert info.wheel_version == (1, 0)
        assert not info.root_is_purelib
        assert set(info.tags) == {
            "cp311-cp311-manylinux_2_17_x86_64",
            "cp311-cp311-manylinux2014_x86_64",
        }
        assert len(archive.record.entries) == sum(1 for m in archive.members if not m.is_dir)


def test_stream_hashes_as_it_reads(real_wheels: dict[str, Path]) -> None:
    with WheelArchive.open(real_wheels["pyyaml"]) as archive:
        name = next(m.name for m in archive.members if m.name.endswith(".so"))
        assert archive.verified_digest(name) is None
        with archive.open_member(name) as stream:
            head = stream.read(4)
            rest = stream.read()
            assert stream.read(10) == b""
            digest = stream.sha256()
        assert head == b"\x7fELF"
        assert digest == hashlib.sha256(head + rest).digest()
        assert archive.verified_digest(name) == digest


def test_partial_read_records_no_digest(real_wheels: dict[str, Path]) -> None:
    with WheelArchive.open(real_wheels["pyyaml"]) as archive:
        name = next(m.name for m in archive.members if m.name.endswith(".so"))
        with archive.open_member(name) as stream:
            stream.read(100)
            with pytest.raises(ValueError, match="not been read to its end"):
                stream.sha256()
        assert archive.verified_digest(name) is None


def test_large_member_streams_in_bounded_memory(tmp_path: Path) -> None:
    size = 300 * 2**20
    path = tmp_path / WHEEL_NAME
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
        out.open("demo/big.bin", "w") as member,
    ):
        block = b"\0" * 2**20
        for _ in range(size // len(block)):
            member.write(block)
    with WheelArchive.open(path) as archive, archive.open_member("demo/big.bin") as stream:
        tracemalloc.start()
        total = 0
        while chunk := stream.read(1 << 20):
            total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert total == size
    assert peak < 8 * 2**20, f"peak {peak} bytes while streaming {size} bytes"


def _valid_entries() -> list[RawEntry]:
    return [
        RawEntry(n.encode(), d) for n, d in wheel_files({"demo/__init__.py": b"x = 1\n"}).items()
    ]


def _with(entry: RawEntry) -> bytes:
    return raw_zip([*_valid_entries(), entry])


def _cut(data: bytes) -> bytes:
    return data[:40] + data[200:]


HOSTILE_AT_OPEN: list[tuple[str, Callable[[], bytes], type[Exception], str]] = [
    ("traversal", lambda: _with(RawEntry(b"demo/../../evil.py", b"x")), UnsafeWheelError, "'..'"),
    ("parent-first", lambda: _with(RawEntry(b"../evil.py", b"x")), UnsafeWheelError, "'..'"),
    ("absolute", lambda: _with(RawEntry(b"/etc/evil", b"x")), UnsafeWheelError, "absolute"),
    (
        "backslash",
        lambda: _with(RawEntry(b"demo\\..\\..\\evil", b"x")),
        UnsafeWheelError,
        "backslash",
    ),
    ("nul", lambda: _with(RawEntry(b"demo/ok.py\0../../evil", b"x")), UnsafeWheelError, "NUL"),
    ("empty-component", lambda: _with(RawEntry(b"demo//x.py", b"x")), UnsafeWheelError, "empty"),
    ("drive", lambda: _with(RawEntry(b"C:/evil", b"x")), UnsafeWheelError, "drive"),
    (
        "symlink",
        lambda: _with(RawEntry(b"demo/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)),
        UnsafeWheelError,
        "symbolic link",
    ),
    (
        "device",
        lambda: _with(RawEntry(b"demo/dev", b"", mode=stat.S_IFCHR | 0o666)),
        UnsafeWheelError,
        "special file",
    ),
    (
        "encrypted",
        lambda: _with(RawEntry(b"demo/secret.py", b"x", flags=1)),
        UnsafeWheelError,
        "encrypted",
    ),
    (
        "overlap",
        lambda: _with(RawEntry(b"demo/again.py", b"x = 1\n", reuse_header_of=0)),
        UnsafeWheelError,
        "overlap",
    ),
    ("not-a-zip", lambda: b"this is not a zip file at all" * 10, InvalidWheelError, "not a zip"),
    ("empty-file", lambda: b"", InvalidWheelError, "not a zip"),
    (
        "truncated",
        lambda: _with(RawEntry(b"demo/a.py", b"x" * 100))[:-30],
        InvalidWheelError,
        "not a zip",
    ),
    ("cut-middle", lambda: _cut(_with(RawEntry(b"demo/a.py", b"x" * 100))), InvalidWheelError, "."),
    (
        "prepended",
        lambda: b"MZ-junk-prefix" + _with(RawEntry(b"demo/a.py", b"x")),
        InvalidWheelError,
        "prepended",
    ),
]


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [case[1:] for case in HOSTILE_AT_OPEN],
    ids=[case[0] for case in HOSTILE_AT_OPEN],
)
def test_hostile_input_is_refused_at_open(
    tmp_path: Path, build: Callable[[], bytes], error: type[Exception], match: str
) -> None:
    path = tmp_path / WHEEL_NAME
    path.write_bytes(build())
    before = hashlib.sha256(path.read_bytes()).digest()
    with pytest.raises(error, match=match) as caught:
        WheelArchive.open(path)
    text = str(caught.value)
    assert "\n" not in text
    assert str(path) in text
    assert hashlib.sha256(path.read_bytes()).digest() == before


HOSTILE_AT_READ: list[tuple[str, RawEntry, type[Exception], str]] = [
    (
        "bomb",
        RawEntry(b"demo/bomb.bin", b"\0" * 2_000_000, declared_size=1000),
        UnsafeWheelError,
        "zip bomb",
    ),
    (
        "short",
        RawEntry(b"demo/short.bin", b"abc" * 100, declared_size=10_000),
        InvalidWheelError,
        "expected 10000",
    ),
]


@pytest.mark.parametrize(
    ("entry", "error", "match"),
    [case[1:] for case in HOSTILE_AT_READ],
    ids=[case[0] for case in HOSTILE_AT_READ],
)
def test_bad_member_data_is_refused_while_streaming(
    tmp_path: Path, entry: RawEntry, error: type[Exception], match: str
) -> None:
    path = tmp_path / WHEEL_NAME
    path.write_bytes(_with(entry))
    with WheelArchive.open(path) as archive, archive.open_member(entry.name.decode()) as stream:
        tracemalloc.start()
        with pytest.raises(error, match=match) as caught:
            stream.drain()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert entry.name.decode() in str(caught.value)
    assert peak < 4 * 2**20


def test_crc_mismatch_is_refused(tmp_path: Path) -> None:
    data = bytearray(_with(RawEntry(b"demo/crc.bin", b"abcdef", deflate=False)))
    pos = data.index(b"abcdef")
    data[pos] = ord("X")
    path = tmp_path / WHEEL_NAME
    path.write_bytes(bytes(data))
    with WheelArchive.open(path) as archive, pytest.raises(InvalidWheelError, match="CRC-32"):
        archive.read_member("demo/crc.bin")


def test_duplicate_name_is_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / WHEEL_NAME
    path.write_bytes(raw_zip([*_valid_entries(), RawEntry(b"demo/__init__.py", b"evil = 1\n")]))
    with WheelArchive.open(path) as archive:
        assert archive.duplicate_names == {"demo/__init__.py"}
        with pytest.raises(UnsafeWheelError, match="more than once"):
            archive.open_member("demo/__init__.py")


def test_bad_filename_is_refused(tmp_path: Path) -> None:
    path = write_wheel(tmp_path / "demo.zip", wheel_files({}))
    with pytest.raises(InvalidWheelError, match="not a valid wheel filename"):
        WheelArchive.open(path)


def test_zip64_records_are_read(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n" * 1000})
    entries = [RawEntry(n.encode(), d, zip64=True) for n, d in files.items()]
    path = tmp_path / WHEEL_NAME
    path.write_bytes(raw_zip(entries, force_zip64_end=True))
    with WheelArchive.open(path) as archive, zipfile.ZipFile(path) as reference:
        assert [m.name for m in archive.members] == reference.namelist()
        for name, data in files.items():
            assert archive.read_member(name) == data == reference.read(name)
        assert archive.header_mismatches == ()


def test_closed_archive_refuses_reads(tmp_path: Path) -> None:
    path = write_wheel(tmp_path / WHEEL_NAME, wheel_files({"demo/a.py": b"a"}))
    archive = WheelArchive.open(path)
    archive.close()
    with pytest.raises(ValueError, match="closed"):
        archive.open_member("demo/a.py")
