"""What repair writes, pinned: for real wheels, a digest of the repaired wheel's description —
its name, every member in order with its compression method, mode, time, CRC-32 and size, and
RECORD's text — which does not depend on the zlib that deflates the new parts; and every member
the repair leaves alone copied as the very compressed bytes of the input.

The pinned digests were taken with main's repair before its performance work (commit 878df50,
2026-12-03): work that makes repair faster must leave them as they are, and a change to what
repair writes changes them on purpose."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from manywheel.repair import RepairOptions, RepairRequest, repair_wheel
from manywheel.wheel import WheelArchive
from tests.harness.downloads import download_wheel

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")

#: (name of the repaired wheel, digest of its description) as main's repair wrote them.
PYYAML = (
    "PyYAML-6.0.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "ab8defc72a5c32b09d1c9a6e334e789e5fc71def54a500bec11f5241507d7045",
)
TORCH_REPAIRED = (
    "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    "017bae59a7b50dcad44451eca80c2037ebbaa9340aa4a8f863298b5ebf2990b2",
)


def describe(wheel: Path) -> str:
    """The sha256 of the wheel's name, its members' entries in order and RECORD's text."""
    digest = hashlib.sha256(wheel.name.encode())
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            digest.update(
                f"{info.filename}|{info.compress_type}|{info.create_system}|"
                f"{info.external_attr:x}|{info.date_time}|{info.CRC:08x}|{info.file_size}\n".encode()
            )
        (record,) = (n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        digest.update(z.read(record))
    return digest.hexdigest()


def _raw(archive: WheelArchive, name: str) -> bytes:
    member = archive.member(name)
    return os.pread(archive.fileno(), member.compressed_size, member.data_offset)


def _copied_verbatim(source: Path, repaired: Path) -> int:
    """How many members kept their content; each must be the input's compressed bytes."""
    kept = 0
    with WheelArchive.open(source) as before, WheelArchive.open(repaired) as after:
        for member in after.members:
            if member.name not in before or member.is_dir:
                continue
            old = before.member(member.name)
            if (old.crc, old.file_size) != (member.crc, member.file_size):
                continue
            if member.name.endswith((".dist-info/WHEEL", ".dist-info/RECORD")):
                continue  # written again (the same text can deflate alike)
            assert _raw(after, member.name) == _raw(before, member.name), member.name
            kept += 1
    return kept


def _repair(wheel: Path, out: Path, **options: object) -> Path:
    request = RepairRequest(options=RepairOptions(**options))  # type: ignore[arg-type]
    return repair_wheel(wheel, out, request).output


def test_a_real_wheel_is_repaired_as_main_repaired_it(tmp_path: Path) -> None:
    source = download_wheel("PyYAML==6.0.2", "manylinux2014_x86_64")
    repaired = _repair(source, tmp_path)
    assert (repaired.name, describe(repaired)) == PYYAML
    assert _copied_verbatim(source, repaired) >= 20


@pytest.mark.slow
def test_torch_is_repaired_as_main_repaired_it(tmp_path: Path) -> None:
    """The benchmark's repair (69 members' RUNPATHs cleaned, spliced into their streams; the
    other 12,000 members copied)."""
    if not TORCH.is_file():
        pytest.skip(f"{TORCH} is not on this machine (the local index provides it)")
    repaired = _repair(TORCH, tmp_path, exclude=("libtorch*.so", "libc10.so"))
    assert (repaired.name, describe(repaired)) == TORCH_REPAIRED
    assert _copied_verbatim(TORCH, repaired) > 12_000
