"""The splice on real members: torch's test programs and tools, their build machine's RUNPATH
entries removed by manywheel's editor as the default repair removes them (the local index's
torch 2.13 CPU wheel). The member as spliced inflates to exactly the edited bytes (with zlib and
python-isal), its CRC-32, size and sha256 are theirs, the edited file reads the new RUNPATH, and
all but a few hundred bytes of the compressed stream are the original's."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest

from manywheel.elf import EditMethod, ElfChanges, edit_elf, parse_elf
from manywheel.wheel import WheelArchive
from manywheel.wheel.splice import inflate, splice

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
MEMBERS = [
    "torch/test/atest",  # 0.75 MB, its RUNPATH in the first block of its stream
    "torch/bin/test_lazy",  # 4.9 MB
    "torch/bin/test_api",  # 15 MB, the RUNPATH 1.2 MB in
]


@pytest.fixture(scope="module")
def torch_wheel() -> WheelArchive:
    if not TORCH.is_file():
        pytest.skip(f"{TORCH} is not on this machine (the local index provides it)")
    return WheelArchive.open(TORCH)


@pytest.mark.parametrize("member", MEMBERS)
def test_a_cleaned_runpath_spliced_into_a_torch_member(
    torch_wheel: WheelArchive, member: str
) -> None:
    entry = torch_wheel.member(member)
    raw = os.pread(torch_wheel.fileno(), entry.compressed_size, entry.data_offset)
    data = inflate(raw, entry.file_size, entry.crc)
    assert data is not None
    before = parse_elf(data, name=member)
    kept = [p for p in before.runpath if p.startswith("$ORIGIN")]
    assert kept and len(kept) < len(before.runpath)  # entries from the build machine
    edit = edit_elf(data, ElfChanges(rpath=":".join(kept)), name=member)
    assert edit.method is EditMethod.IN_PLACE
    spliced = splice(raw, data, edit.patches, 6)
    assert spliced is not None
    expected = edit.data
    assert zlib.decompress(spliced.data, -15) == expected
    from isal import isal_zlib

    assert isal_zlib.decompress(spliced.data, -15) == expected
    assert (spliced.size, spliced.crc) == (len(expected), zlib.crc32(expected))
    assert spliced.sha256 == hashlib.sha256(expected).digest()
    assert parse_elf(expected, name=member).runpath == tuple(kept)
    assert _reused(raw, spliced.data) > len(raw) - 2_000


def _reused(raw: bytes, out: bytes, block: int = 256) -> int:
    """How many bytes of ``raw`` are found in ``out``, ``block`` bytes at a time, near where
    they were (the original's bits kept between changes are copied byte for byte)."""
    found, shift = 0, 0
    for at in range(0, len(raw) - block + 1, block):
        chunk = raw[at : at + block]
        where = out.find(chunk, max(0, at + shift - 8192), at + shift + 8192 + block)
        if where >= 0:
            found += block
            shift = where - at
    return found
