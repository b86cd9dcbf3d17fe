"""``rewrite_wheel``: raw copies, regenerated RECORD, reproducibility, atomic placement, retagging,
and round trips through pip."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from manywheel.errors import InputError, InvalidWheelError
from manywheel.wheel import (
    MemberContent,
    WheelArchive,
    rewrite_wheel,
    rewritten_filename,
    verify_wheel,
)
from manywheel.wheel.zipwriter import ZipSink
from tests.wheel.builders import RawEntry, raw_zip, wheel_files, write_wheel
from tests.wheel.conftest import clean_pip_env

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

WHEEL_NAME = "demo-1.0-py3-none-any.whl"


def _sha(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def _demo(tmp_path: Path) -> Path:
    files = wheel_files({"demo/__init__.py": b"x = 1\n" * 50, "demo/data.txt": b"hello\n"})
    src = tmp_path / "src"
    src.mkdir()
    return write_wheel(src / WHEEL_NAME, files)


def _raw_data(path: Path) -> dict[str, bytes]:
    """Each member's compressed bytes, as stored."""
    with WheelArchive.open(path) as archive:
        return {
            m.name: os.pread(archive.fileno(), m.compressed_size, m.data_offset)
            for m in archive.members
        }


def _pip_install(wheel: Path, target: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--target",
        str(target),
        str(wheel),
    ]
    env = clean_pip_env(PIP_NO_INDEX="1")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the pinned PyYAML wheel is cp311")
def test_pyyaml_round_trip_installs_and_imports(
    real_wheels: dict[str, Path], tmp_path: Path
) -> None:
    source = real_wheels["pyyaml"]
    before = _sha(source)
    with WheelArchive.open(source) as archive:
        init = archive.read_member("yaml/__init__.py")
        changed = init + b"\nMANYWHEEL_WAS_HERE = True\n"
        with rewrite_wheel(archive, tmp_path, changes={"yaml/__init__.py": changed}) as pending:
            assert verify_wheel(pending.path) == ()
            out = pending.commit()
    assert _sha(source) == before
    assert out.name == source.name
    assert verify_wheel(out) == ()
    unchanged_src, unchanged_out = _raw_data(source), _raw_data(out)
    same = [n for n in unchanged_src if n != "yaml/__init__.py" and not n.endswith("/RECORD")]
    assert all(unchanged_src[n] == unchanged_out[n] for n in same)
    target = tmp_path / "site"
    _pip_install(out, target)
    code = (
        "import yaml; assert yaml.MANYWHEEL_WAS_HERE; assert yaml.__with_libyaml__; "
        "print(yaml.dump({'a': 1}))"
    )
    env = {"PYTHONPATH": str(target), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a: 1\n\n"


@pytest.mark.slow
def test_pure_wheel_retagged_installs(real_wheels: dict[str, Path], tmp_path: Path) -> None:
    with WheelArchive.open(real_wheels["six"]) as archive:
        pending = rewrite_wheel(
            archive, tmp_path, platforms=["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        )
        out = pending.commit()
        named = rewritten_filename(archive, ["manylinux_2_17_x86_64", "manylinux2014_x86_64"])
    assert out.name == "six-1.16.0-py2.py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    assert named.raw == out.name
    assert verify_wheel(out) == ()
    with WheelArchive.open(out) as archive:
        info = archive.wheel_info
        assert not info.root_is_purelib
        assert set(info.tags) == {
            f"{py}-none-{plat}"
            for py in ("py2", "py3")
            for plat in ("manylinux_2_17_x86_64", "manylinux2014_x86_64")
        }
        assert [m.name for m in archive.members][-1] == "six-1.16.0.dist-info/RECORD"
    _pip_install(out, tmp_path / "site")
    assert (tmp_path / "site" / "six.py").read_bytes() == zipfile.ZipFile(real_wheels["six"]).read(
        "six.py"
    )


def test_output_is_reproducible(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    outputs = []
    for run in ("a", "b"):
        dest = tmp_path / run
        dest.mkdir()
        with WheelArchive.open(source) as archive:
            pending = rewrite_wheel(
                archive,
                dest,
                changes={"demo/data.txt": b"changed\n"},
                additions={
                    "demo.libs/libz-0123abcd.so.1": MemberContent(b"\x7fELF fake", mode=0o755)
                },
            )
            outputs.append(pending.commit())
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    with zipfile.ZipFile(outputs[0]) as result:  # the input's own (single) time, never the clock
        assert {info.date_time for info in result.infolist()} == {(2020, 1, 2, 3, 4, 6)}


def test_source_date_epoch_sets_every_timestamp(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    with WheelArchive.open(source) as archive:
        out = rewrite_wheel(archive, tmp_path, source_date_epoch=1_700_000_000).commit()
    with zipfile.ZipFile(out) as result:
        assert {info.date_time for info in result.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_order_modes_and_contents(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    lib = tmp_path / "libfoo.so"
    lib.write_bytes(b"\x7fELF" + bytes(range(256)) * 100)
    lib.chmod(0o755)
    with WheelArchive.open(source) as archive:
        out = rewrite_wheel(
            archive,
            tmp_path,
            changes={"demo/__init__.py": MemberContent(b"y = 2\n")},
            additions={
                "demo.libs/libfoo-12345678.so": lib,
                "demo-1.0.dist-info/sboms/x.json": b"{}",
            },
            removals=["demo/data.txt"],
            compress_level=9,
        ).commit()
    with zipfile.ZipFile(out) as result:
        names = result.namelist()
        assert names == [
            "demo/__init__.py",
            "demo.libs/libfoo-12345678.so",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/sboms/x.json",
            "demo-1.0.dist-info/RECORD",
        ]
        assert result.read("demo/__init__.py") == b"y = 2\n"
        assert result.read("demo.libs/libfoo-12345678.so") == lib.read_bytes()
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in result.infolist()}
        assert modes["demo.libs/libfoo-12345678.so"] == 0o755
        assert modes["demo/__init__.py"] == 0o644
        assert result.testzip() is None
    assert verify_wheel(out) == ()


def test_tampered_record_is_not_laundered(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n", "demo/other.py": b"o = 1\n"})
    files["demo/other.py"] = b"o = 2\n"  # RECORD now lies about it
    source = write_wheel(tmp_path / WHEEL_NAME, files)
    dest = tmp_path / "out"
    dest.mkdir()
    with (
        WheelArchive.open(source) as archive,
        pytest.raises(InvalidWheelError, match=r"demo/other\.py"),
    ):
        rewrite_wheel(archive, dest, changes={"demo/__init__.py": b"x = 3\n"})
    assert list(dest.iterdir()) == []
    with WheelArchive.open(source) as archive:  # carried over as it is: still detectable
        out = rewrite_wheel(
            archive, dest, changes={"demo/__init__.py": b"x = 3\n"}, verify_unchanged=False
        ).commit()
    assert [f.member for f in verify_wheel(out)] == ["demo/other.py"]


def test_structural_findings_stop_the_rewrite(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, tags=("py2-none-any",))
    source = write_wheel(tmp_path / WHEEL_NAME, files)
    with WheelArchive.open(source) as archive, pytest.raises(InvalidWheelError, match="tag"):
        rewrite_wheel(archive, tmp_path)


def test_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    before = _sha(source)
    dest = tmp_path / "out"
    dest.mkdir()
    with WheelArchive.open(source) as archive, pytest.raises(FileNotFoundError):
        rewrite_wheel(archive, dest, additions={"demo/late.py": tmp_path / "missing.py"})
    assert list(dest.iterdir()) == []
    assert _sha(source) == before


def test_pending_wheel_is_discarded_unless_committed(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    dest = _mkdir(tmp_path / "out")
    with WheelArchive.open(source) as archive, rewrite_wheel(archive, dest) as pending:
        assert pending.final_path == dest / WHEEL_NAME
        assert pending.path.name == WHEEL_NAME
        assert pending.path.parent.parent == dest
        assert pending.path.parent.name.startswith(".")
        assert list(dest.glob("*.whl")) == []
        assert verify_wheel(pending.path) == ()
    assert list(dest.iterdir()) == []


def test_commit_replaces_atomically_and_keeps_the_umask(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    dest = _mkdir(tmp_path / "out")
    (dest / WHEEL_NAME).write_bytes(b"old")
    with WheelArchive.open(source) as archive:
        pending = rewrite_wheel(archive, dest)
        assert (dest / WHEEL_NAME).read_bytes() == b"old"
        out = pending.commit()
        with pytest.raises(ValueError, match="already committed"):
            pending.commit()
    assert [p.name for p in dest.iterdir()] == [WHEEL_NAME]
    assert verify_wheel(out) == ()
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"changes": {"demo/nope.py": b""}}, "no member"),
        ({"additions": {"demo/data.txt": b""}}, "already exists"),
        ({"additions": {"../evil.py": b""}}, "unsafe"),
        ({"removals": ["demo-1.0.dist-info/RECORD"]}, "written by the writer"),
        ({"compress_level": 11}, "-1 to 9"),
        (
            {"changes": {"demo/data.txt": b""}, "removals": ["demo/data.txt"]},
            "both changed and removed",
        ),
        ({"additions": {"demo/sub/": b""}}, "directory"),
        (
            {"changes": {"demo-1.0.dist-info/WHEEL": b""}, "platforms": ["linux_x86_64"]},
            "written by",
        ),
    ],
    ids=[
        "change-missing",
        "add-existing",
        "add-unsafe",
        "remove-record",
        "bad-level",
        "change-and-remove",
        "add-directory",
        "wheel-and-retag",
    ],
)
def test_bad_requests_are_refused(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    source = _demo(tmp_path)
    with WheelArchive.open(source) as archive, pytest.raises(InputError, match=match):
        rewrite_wheel(archive, tmp_path, **kwargs)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_zip64_input_and_output(tmp_path: Path) -> None:
    files = wheel_files({f"demo/m{i}.py": b"" for i in range(70_000)})
    source = write_wheel(tmp_path / WHEEL_NAME, files)
    with WheelArchive.open(source) as archive:
        assert len(archive.members) == len(files)
        pending = rewrite_wheel(
            archive, _mkdir(tmp_path / "out"), changes={"demo/m5.py": b"five = 5\n"}
        )
        out = pending.commit()
    data = out.read_bytes()
    assert b"PK\x06\x06" in data[-200:]  # zip64 end of central directory record
    with zipfile.ZipFile(out) as result:
        assert len(result.infolist()) == len(files)
        assert result.read("demo/m5.py") == b"five = 5\n"
    assert verify_wheel(out) == ()


def test_zip64_extras_are_rewritten(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n" * 100})
    source = tmp_path / WHEEL_NAME
    source.write_bytes(
        raw_zip(
            [RawEntry(n.encode(), d, zip64=True) for n, d in files.items()], force_zip64_end=True
        )
    )
    out_dir = _mkdir(tmp_path / "out")
    with WheelArchive.open(source) as archive:
        out = rewrite_wheel(archive, out_dir).commit()
    assert verify_wheel(out) == ()
    with zipfile.ZipFile(out) as result:
        assert {n: result.read(n) for n in result.namelist() if not n.endswith("RECORD")} == {
            n: d for n, d in files.items() if not n.endswith("RECORD")
        }


def test_members_are_copied_whatever_their_local_extra_fields(tmp_path: Path) -> None:
    """The copy compares each member's local header with the one it writes: against the header
    read when the wheel opened, or, for one whose extra field was too long to keep, read again
    from the file. Either way the member's compressed bytes are copied as they are."""
    files = wheel_files({"demo/long.py": b"a = 1\n" * 50, "demo/plain.py": b"b = 2\n" * 50})
    long_extra = struct.pack("<2H", 0xCAFE, 200) + bytes(200)  # (an unknown field: skipped)
    source = tmp_path / WHEEL_NAME
    source.write_bytes(
        raw_zip(
            [
                RawEntry(n.encode(), d, local_extra=long_extra if n == "demo/long.py" else b"")
                for n, d in files.items()
            ]
        )
    )
    with WheelArchive.open(source) as archive:
        long, plain = archive.member("demo/long.py"), archive.member("demo/plain.py")
        assert archive._local_header(long) is None
        size = plain.data_offset - plain.header_offset
        assert archive._local_header(plain) == os.pread(archive.fileno(), size, plain.header_offset)
        out = rewrite_wheel(archive, _mkdir(tmp_path / "out")).commit()
    assert verify_wheel(out) == ()
    before, after = _raw_data(source), _raw_data(out)
    assert after["demo/long.py"] == before["demo/long.py"]
    assert after["demo/plain.py"] == before["demo/plain.py"]


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_stronger_record_hashes_are_verified_and_rewritten_as_sha256(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a = 1\n"}, record=False)
    rows = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha512(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha512={digest},{len(data)}\n")
    files["demo-1.0.dist-info/RECORD"] = ("".join(rows) + "demo-1.0.dist-info/RECORD,,\n").encode()
    source = write_wheel(tmp_path / WHEEL_NAME, files)
    assert verify_wheel(source) == ()
    with WheelArchive.open(source) as archive:
        out = rewrite_wheel(archive, _mkdir(tmp_path / "out")).commit()
    with WheelArchive.open(out) as archive:
        assert {e.algorithm for e in archive.record.entries} == {"sha256", None}
    assert verify_wheel(out) == ()


def test_refuses_to_replace_its_own_input(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    before = _sha(source)
    with WheelArchive.open(source) as archive, pytest.raises(InputError, match="its own input"):
        rewrite_wheel(archive, source.parent, changes={"demo/data.txt": b"x"})
    assert _sha(source) == before
    assert [p.name for p in source.parent.iterdir()] == [WHEEL_NAME]


class _Unseekable(io.RawIOBase):
    """A write-only stream without seek/tell, so zipfile writes data descriptors."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: ReadableBuffer, /) -> int:
        view = memoryview(b).cast("B")
        self.data += view
        return len(view)


def test_members_with_data_descriptors_are_copied_without_them(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n" * 100, "demo/b.txt": b"b" * 1000})
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(name, data)
    source = tmp_path / WHEEL_NAME
    source.write_bytes(bytes(sink.data))
    assert b"PK\x07\x08" in source.read_bytes()  # the input really has data descriptors
    assert verify_wheel(source) == ()
    with WheelArchive.open(source) as archive:
        assert all(m.flags & 0x08 for m in archive.members)
        out_path = rewrite_wheel(archive, _mkdir(tmp_path / "out")).commit()
    assert b"PK\x07\x08" not in out_path.read_bytes()
    assert verify_wheel(out_path) == ()
    with zipfile.ZipFile(out_path) as result:
        assert result.testzip() is None
        assert {n: result.read(n) for n in files if not n.endswith("RECORD")} == {
            n: d for n, d in files.items() if not n.endswith("RECORD")
        }


def test_str_content_is_refused(tmp_path: Path) -> None:
    source = _demo(tmp_path)
    with (
        WheelArchive.open(source) as archive,
        pytest.raises(TypeError, match="bytes, a Path or an EditedMember"),
    ):
        rewrite_wheel(archive, tmp_path, changes={"demo/data.txt": "a str"})  # type: ignore[dict-item]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def _sink_zip(archive: WheelArchive, sink: ZipSink) -> None:
    """Every member of ``archive`` copied, one new member deflated, the directory written."""
    try:
        for member in archive.members:
            sink.copy_member(archive.fileno(), member, dos_datetime=member.dos_datetime)
        content = b"new content\n" * 20_000
        sink.write_content(
            "demo/new.txt",
            content,
            external_attr=0o644 << 16,
            create_system=3,
            dos_datetime=archive.members[0].dos_datetime,
            level=6,
        )
        sink.finish()
    finally:
        sink.close()


def test_a_background_sink_writes_the_same_bytes_and_raises_its_errors(tmp_path: Path) -> None:
    """With its writes and copies on a thread of its own, the sink writes what it writes in
    line, byte for byte; an error on that thread (here a descriptor open only for reading) is
    raised to the caller, and the thread stops."""
    source = _demo(tmp_path)
    written = []
    with WheelArchive.open(source) as archive:
        for background in (False, True):
            path = tmp_path / f"background-{background}.zip"
            with path.open("wb") as f:
                _sink_zip(archive, ZipSink(f.fileno(), background=background))
            written.append(path.read_bytes())
        assert written[0] == written[1]
        with zipfile.ZipFile(path) as result:
            assert result.read("demo/new.txt") == b"new content\n" * 20_000
        fd = os.open(path, os.O_RDONLY)
        try:
            sink = ZipSink(fd, background=True)
            with pytest.raises(OSError) as raised:
                _sink_zip(archive, sink)
            assert raised.value.errno == errno.EBADF
            assert not sink._background._thread.is_alive()  # type: ignore[union-attr]
        finally:
            os.close(fd)
    assert path.read_bytes() == written[1]
