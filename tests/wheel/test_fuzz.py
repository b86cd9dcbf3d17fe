"""Mutated wheels: opening, verifying and rewriting one may only succeed or raise the documented
:class:`InvalidWheelError` (or its :class:`UnsafeWheelError`), with bounded work."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manywheel.errors import InvalidWheelError
from manywheel.wheel import WheelArchive, rewrite_wheel, verify_wheel
from tests.harness.work import counted
from tests.wheel.builders import RawEntry, raw_zip, wheel_files

_FILES = wheel_files({"demo/__init__.py": b"x = 1\n" * 20, "demo/data.txt": b"data\n"})
_STORED = raw_zip([RawEntry(n.encode(), d, deflate=n.endswith(".py")) for n, d in _FILES.items()])
_ZIP64 = raw_zip(
    [RawEntry(n.encode(), d, zip64=True) for n, d in _FILES.items()], force_zip64_end=True
)


def _exercise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-1.0-py3-none-any.whl"
        path.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        try:
            with WheelArchive.open(path) as archive:
                if not verify_wheel(archive):
                    rewrite_wheel(archive, out).commit(durable=False)
        except InvalidWheelError:
            pass
        assert path.read_bytes() == data
        assert all(p.suffix == ".whl" for p in out.iterdir())


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([_STORED, _ZIP64])))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


#: Function calls one example may make (an intact seed takes about 3,300): work that grows
#: with a hostile count or offset instead of the file shows up as calls.
CALLS_PER_EXAMPLE = 100_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_wheels_raise_only_documented_errors(data: bytes) -> None:
    _, calls = counted(lambda: _exercise(data))
    assert calls < CALLS_PER_EXAMPLE


def test_unmutated_fuzz_seeds_are_valid() -> None:
    for data in (_STORED, _ZIP64):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "demo-1.0-py3-none-any.whl"
            path.write_bytes(data)
            assert verify_wheel(path) == ()
