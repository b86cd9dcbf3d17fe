"""The contract with the ELF reader: a member stream is a ``ByteStream``; an ELF member is parsed
in one forward pass while its sha256 is computed for RECORD, so verification costs no second
inflate."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from manywheel.elf import read_elf_stream
from manywheel.wheel import WheelArchive, verify_wheel


def test_elf_member_parsed_from_the_stream_and_hashed_once(real_wheels: dict[str, Path]) -> None:
    path = real_wheels["pyyaml"]
    with WheelArchive.open(path) as archive:
        member = next(m for m in archive.members if m.name.endswith(".so"))
        with archive.open_member(member) as stream:
            elf = read_elf_stream(
                stream,
                size=member.file_size,
                name=member.name,
                reopen=lambda: archive.open_member(member),
            )
            stream.drain()
        assert "libc.so.6" in elf.needed
        expected = hashlib.sha256(zipfile.ZipFile(path).read(member.name)).digest()
        assert archive.verified_digest(member.name) == expected
        assert verify_wheel(archive) == ()
