"""Android's ``.note.android.ident``: the API level and NDK version, read from NDK-built files
(auditwheel's, PyPI's) and gcc-built ones, checked against GNU readelf's dump of the note, the
same in memory and streamed; a mangled descriptor never breaks the read."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manywheel.elf import AndroidIdent, parse_elf, read_elf_stream
from manywheel.elf.layout import layout_for
from manywheel.elf.notes import read_android_ident
from tests.fixtures.android.build import NDK_BUILD, NDK_VERSION, Case
from tests.fixtures.android.cases import AUDITWHEEL_LDPATHS, AUDITWHEEL_SPAM, android_cases

__all__ = ["android_cases"]  # the fixture, imported for pytest

_DESCRIPTION = re.compile(r"Android\s+0x[0-9a-f]+\s.*?description data: ((?:[0-9a-f]{2} ?)+)", re.S)


def _readelf_level(path: Path) -> int | None:
    """The API level as GNU readelf dumps the note (its first four bytes, little-endian)."""
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed")
    argv = ["readelf", "-n", str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    match = _DESCRIPTION.search(out)
    return None if match is None else int.from_bytes(bytes.fromhex(match[1])[:4], "little")


def _member(wheel: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
        return archive.read(name)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (AUDITWHEEL_LDPATHS / "env" / "libc++_shared.so", AndroidIdent(24, "r27d", "13750724")),
        (AUDITWHEEL_LDPATHS / "arg" / "libc++_shared.so", AndroidIdent(24, "r27d", "13750724")),
    ],
    ids=["env", "arg"],
)
def test_ndk_built_files(path: Path, expected: AndroidIdent) -> None:
    elf = parse_elf(path.read_bytes(), name=str(path))
    assert elf.android == expected
    assert _readelf_level(path) == expected.api_level


def test_ndk_built_extension_says_21() -> None:
    """The extension of auditwheel's android_24 wheel was built for API 21."""
    data = _member(AUDITWHEEL_SPAM, ".so")
    assert parse_elf(data).android == AndroidIdent(21, "r27d", "13750724")


def test_fixture_notes_in_memory_and_streamed(
    android_cases: dict[str, Case], tmp_path: Path
) -> None:
    for name, level in (("clean", 24), ("built-lower", 21), ("no-note", None)):
        data = _member(android_cases[name].wheel, ".so")
        (tmp_path / name).write_bytes(data)
        expected = None if level is None else AndroidIdent(level, NDK_VERSION, NDK_BUILD)
        assert parse_elf(data).android == expected
        streamed = read_elf_stream(io.BytesIO(data), size=len(data), name=name)
        assert streamed.android == expected
        assert _readelf_level(tmp_path / name) == level


@given(st.binary(max_size=200))
def test_any_descriptor_reads_or_is_ignored(desc: bytes) -> None:
    layout = layout_for(2, 1)
    assert layout is not None
    ident = read_android_ident(layout, desc)
    assert (ident is None) == (len(desc) < 4)
    if ident is not None:
        assert 0 <= ident.api_level < 2**32
