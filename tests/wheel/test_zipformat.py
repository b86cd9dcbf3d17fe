"""zip64 fields for sizes and offsets past 4 GiB, written by the sink and read back by the parser
(a real 4 GiB wheel is too big for a unit test), and MS-DOS time conversions."""

from __future__ import annotations

import pytest

from manywheel.wheel.zipformat import _parse_central, dos_to_epoch, epoch_to_dos
from manywheel.wheel.zipwriter import ZipSink, _Entry


@pytest.mark.parametrize(
    ("file_size", "compressed_size", "offset"),
    [(5 << 30, 4 << 30, 6 << 30), (10, 10, 5 << 30), (5 << 30, 100, 0), (0xFFFFFFFF, 1, 2)],
    ids=["all-big", "offset-only", "size-only", "exactly-the-limit"],
)
def test_zip64_central_entry_round_trip(file_size: int, compressed_size: int, offset: int) -> None:
    entry = _Entry(
        b"demo/big.bin",
        0,
        8,
        epoch_to_dos(1_700_000_000),
        0x1234ABCD,
        compressed_size,
        file_size,
        offset,
        3,
        0o100644 << 16,
    )
    data = ZipSink._central(entry)
    parsed, end = _parse_central(data, 0, "test.whl")
    assert end == len(data)
    assert (parsed.file_size, parsed.compressed_size, parsed.header_offset) == (
        file_size,
        compressed_size,
        offset,
    )
    assert (parsed.crc, parsed.external_attr >> 16, parsed.create_system, parsed.name) == (
        0x1234ABCD,
        0o100644,
        3,
        "demo/big.bin",
    )


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [(1_700_000_000, 1_700_000_000), (1_700_000_001, 1_700_000_000), (0, 315532800)],
    ids=["exact", "odd-second", "before-1980"],
)
def test_dos_time_round_trip(epoch: int, expected: int) -> None:
    assert dos_to_epoch(epoch_to_dos(epoch)) == expected
