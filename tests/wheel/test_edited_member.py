"""``EditedMember``: a member edited on the writer's threads — patches written over it (its
compressed stream kept but around them), or new bytes deflated whole — with RECORD updated and
nothing written when the edit fails."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from manywheel.errors import ElfEditError, InputError
from manywheel.wheel import EditedMember, MemberContent, WheelArchive, rewrite_wheel, verify_wheel
from tests.wheel.builders import wheel_files, write_wheel

NAME = "demo-1.0-py3-none-any.whl"
BLOB = os.urandom(200_000) + bytes(100_000) + os.urandom(200_000)


def _source(tmp_path: Path) -> Path:
    files = wheel_files({"demo/blob.bin": BLOB, "demo/__init__.py": b"x = 1\n"})
    src = tmp_path / "src"
    src.mkdir()
    return write_wheel(src / NAME, files)


def _compressed(path: Path, member: str) -> bytes:
    with WheelArchive.open(path) as archive:
        m = archive.member(member)
        return os.pread(archive.fileno(), m.compressed_size, m.data_offset)


def test_patches_keep_the_compressed_stream_around_them(tmp_path: Path) -> None:
    source = _source(tmp_path)
    seen: list[int] = []
    (tmp_path / "out").mkdir()

    def edit(data: bytes) -> Sequence[tuple[int, bytes]]:
        seen.append(len(data))
        return [(250_000, b"patched")]

    with WheelArchive.open(source) as archive:
        pending = rewrite_wheel(
            archive,
            tmp_path / "out",
            changes={"demo/blob.bin": MemberContent(EditedMember("demo/blob.bin", edit))},
        )
    with pending:
        output = pending.commit()
    assert seen == [len(BLOB)]
    assert verify_wheel(output) == ()
    expected = BLOB[:250_000] + b"patched" + BLOB[250_007:]
    with zipfile.ZipFile(output) as z:
        assert z.read("demo/blob.bin") == expected
    before, after = _compressed(source, "demo/blob.bin"), _compressed(output, "demo/blob.bin")
    assert before[:1000] == after[:1000]  # the random head was kept as it was compressed
    assert before[-1000:] == after[-1000:]


def test_new_bytes_are_deflated_whole(tmp_path: Path) -> None:
    source = _source(tmp_path)
    (tmp_path / "out").mkdir()
    with WheelArchive.open(source) as archive:
        pending = rewrite_wheel(
            archive,
            tmp_path / "out",
            changes={
                "demo/blob.bin": MemberContent(EditedMember("demo/blob.bin", lambda d: d[::-1]))
            },
        )
    with pending:
        output = pending.commit()
    assert verify_wheel(output) == ()
    with zipfile.ZipFile(output) as z:
        assert z.read("demo/blob.bin") == BLOB[::-1]


def test_an_edit_that_fails_stops_the_rewrite(tmp_path: Path) -> None:
    source = _source(tmp_path)

    def refuse(_: bytes) -> bytes:
        raise ElfEditError("cannot edit", path=str(source), member="demo/blob.bin")

    out = tmp_path / "out"
    out.mkdir()
    with WheelArchive.open(source) as archive, pytest.raises(ElfEditError, match="cannot edit"):
        rewrite_wheel(
            archive,
            out,
            changes={"demo/blob.bin": MemberContent(EditedMember("demo/blob.bin", refuse))},
        )
    assert list(out.iterdir()) == []


def test_an_edited_member_must_exist(tmp_path: Path) -> None:
    source = _source(tmp_path)
    with WheelArchive.open(source) as archive, pytest.raises(InputError, match="no member"):
        rewrite_wheel(
            archive,
            tmp_path / "out",
            additions={"demo/new.bin": MemberContent(EditedMember("demo/none.bin", bytes))},
        )
