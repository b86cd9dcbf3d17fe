"""RECORD rows: the hash column decodes exactly as ``base64.urlsafe_b64decode`` would (manywheel
decodes with binascii directly, a row per file of the wheel)."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manywheel.errors import InvalidWheelError
from manywheel.wheel.record import _decode_hash, parse_record

_ALPHABET = "ABCxyz019-_+/=*é "


def _reference(encoded: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None


@given(st.text(_ALPHABET, max_size=12))
def test_hash_column_decodes_as_urlsafe_b64decode(encoded: str) -> None:
    want = _reference(encoded)
    try:
        algorithm, digest = _decode_hash(f"sha256={encoded}", "RECORD", 1)
    except InvalidWheelError:
        assert want is None
        return
    assert (algorithm, digest) == ("sha256", want)


@given(st.binary(max_size=64))
def test_digests_round_trip(digest: bytes) -> None:
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert _decode_hash(f"sha256={encoded}", "RECORD", 1) == ("sha256", digest)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("a.py,sha256=a,3", "bad hash encoding"),
        ("a.py,=abc,3", "bad hash"),
        ("a.py,x", "3 fields"),
    ],
    ids=["encoding", "no-algorithm", "fields"],
)
def test_bad_rows_name_the_line(row: str, problem: str) -> None:
    with pytest.raises(InvalidWheelError, match=f"line 2: .*{problem}|line 2: {problem}"):
        parse_record(f"b.py,,\n{row}\n")
