"""The scan reads small members whole and streams big ones: both ways give the same facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.audit import scan_wheel
from manywheel.wheel import WheelArchive, stream
from tests.audit.builders import Builder

EXT = ".cpython-311-x86_64-linux-gnu.so"


def _wheel(build: Builder) -> Path:
    lib = build.library("libpart.so.1", "int part(void) { return 1; }")
    ext = build.extension("both", "part()", prelude="int part(void);", links=["-lpart"])
    exe = build.executable("tool", "part()", links=["-lpart"])
    files = {
        f"both{EXT}": ext,
        "both.libs/libpart.so.1": lib.read_bytes(),
        "both-1.0.data/scripts/tool": exe,
        "both/data.bin": b"\x7fELX not quite" * 100,
        "both/__init__.py": b"",
    }
    return build.wheel("both", files)


def test_whole_and_streamed_members_give_the_same_facts(
    build: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wheel(build)
    with WheelArchive.open(wheel) as archive:
        whole = scan_wheel(archive)
        digests = {m.name: archive.verified_digest(m.name) for m in archive.members}
    assert all(stream.is_small(m) for m in WheelArchive.open(wheel).members)
    monkeypatch.setattr(stream, "WHOLE_LIMIT", -1)  # every member streamed
    with WheelArchive.open(wheel) as archive:
        assert not any(stream.is_small(m) for m in archive.members)
        streamed = scan_wheel(archive)
        assert {m.name: archive.verified_digest(m.name) for m in archive.members} == digests
    assert (
        [s.member for s in whole]
        == [s.member for s in streamed]
        == [
            f"both{EXT}",
            "both.libs/libpart.so.1",
            "both-1.0.data/scripts/tool",
        ]
    )
    assert whole == streamed
