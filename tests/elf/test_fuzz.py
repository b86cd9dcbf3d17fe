"""Property-based fuzzing: mutated real ELF files raise InvalidElfError or parse; nothing else
escapes (IndexError, struct.error, MemoryError, ValueError from decoding...), and each input
takes bounded work (counted, not timed)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manywheel.elf import ElfFile, parse_elf, read_elf_stream
from manywheel.errors import InvalidElfError
from tests.elf.conftest import CROSS
from tests.elf.mutate import INTERESTING, field_offsets
from tests.harness.work import counted

#: Small real files of every flavour: 64/32-bit, little/big endian, with and without sections.
SEEDS = [
    CROSS / "ppc64" / "libuser.so",
    CROSS / "armv7l" / "libuser.so",
    CROSS / "i686" / "libbase.so",
    CROSS / "s390x" / "libbase-noshdr.so",
    CROSS / "aarch64" / "prog",
    CROSS / "riscv64" / "spam.so",
]
SEED_DATA = [p.read_bytes() for p in SEEDS]
SEED_FIELDS = [field_offsets(d) for d in SEED_DATA]
#: Function calls one example may make, both readers together (a seed takes about 1,700):
#: work that grows with a hostile count or size instead of the file shows up as calls.
CALLS_PER_EXAMPLE = 100_000


def _exercise(elf: ElfFile) -> None:
    """Touch every lazily computed fact, so nothing can fail later either."""
    assert len(elf.symbols.names) == len(elf.symbols)
    for sym in elf.symbols:
        _ = (sym.binding, sym.type, sym.visibility, sym.defined)
    elf.python_extension()
    _ = (elf.header.type, elf.header.machine, elf.x86_isa_level, [s.type for s in elf.segments])


def _read(data: bytes, reader: str) -> ElfFile:
    if reader == "bytes":
        return parse_elf(data, name="fuzz")
    return read_elf_stream(
        io.BytesIO(data),
        size=len(data),
        name="fuzz",
        reopen=lambda: io.BytesIO(data),
        buffer_limit=256,
    )


def _check_one(data: bytes, reader: str) -> None:
    try:
        elf = _read(data, reader)
    except InvalidElfError as e:
        assert e.path == "fuzz"
        assert str(e).startswith("fuzz")
    else:
        _exercise(elf)


def _both(data: bytes) -> None:
    _check_one(data, "bytes")
    _check_one(data, "stream")


def _check(data: bytes) -> None:
    _, calls = counted(lambda: _both(data))
    assert calls < CALLS_PER_EXAMPLE


@st.composite
def field_mutations(draw: st.DrawFn) -> bytes:
    """Overwrite 1-4 structural fields with boundary or random values."""
    seed = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(SEED_DATA[seed])
    endian = "little" if data[5] == 1 else "big"
    for _ in range(draw(st.integers(1, 4))):
        offset, width = draw(st.sampled_from(SEED_FIELDS[seed]))
        value = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, len(data) + 64)))
        data[offset : offset + width] = (value % 2 ** (8 * width)).to_bytes(width, endian)
    return bytes(data)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    """Flip random bytes (mostly in the first 2 KiB, where headers and tables are), then
    maybe truncate."""
    seed = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(SEED_DATA[seed])
    for _ in range(draw(st.integers(1, 16))):
        hot = draw(st.booleans())
        offset = draw(st.integers(0, (min(len(data), 2048) if hot else len(data)) - 1))
        data[offset] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


@FUZZ
@given(field_mutations())
def test_field_mutations(data: bytes) -> None:
    _check(data)


@FUZZ
@given(byte_mutations())
def test_byte_mutations(data: bytes) -> None:
    _check(data)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=256))
def test_arbitrary_bytes(data: bytes) -> None:
    _check(b"\x7fELF" + data)
    _check(data)


@pytest.mark.parametrize("path", SEEDS, ids=[f"{p.parent.name}/{p.name}" for p in SEEDS])
def test_every_truncation_of_the_headers(path: Path) -> None:
    data = path.read_bytes()
    for end in range(0, 1024, 3):
        _check(data[:end])
