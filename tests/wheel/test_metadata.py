"""WHEEL and METADATA header blocks: manywheel's reader gives what the standard library's
``email`` parser (policy ``compat32``, which manywheel used before) gives, and refuses exactly
what that parser flags as a defect."""

from __future__ import annotations

import email.parser
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manywheel.errors import InvalidWheelError
from manywheel.wheel.metadata import parse_metadata_identity, parse_wheel_info, read_headers

_NAMES = ["Name", "name", "Version", "Tag", "X-Odd", "Wheel-Version", "From"]


def _email(text: str) -> email.message.Message | None:
    """The standard library's reading, or None when it finds a defect."""
    message = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    return None if message.defects else message


_LINE = st.one_of(
    st.builds(lambda n, v: f"{n}: {v}", st.sampled_from(_NAMES), st.text("ab .-:\t", max_size=6)),
    st.builds(lambda n, v: f"{n}:{v}", st.sampled_from(_NAMES), st.text("ab ", max_size=4)),
    st.builds(lambda v: f" {v}", st.text("ab", max_size=3)),
    st.builds(lambda v: f"\t{v}", st.text("ab", max_size=3)),
    st.sampled_from(
        ["", "no colon here", ":empty name", "Bad Name: x", "Nämé: x", "body", "From someone"]
    ),
)


@given(st.lists(_LINE, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]))
def test_same_values_and_same_refusals_as_email(lines: list[str], newline: str) -> None:
    text = newline.join(lines) + newline
    theirs = _email(text)
    try:
        ours = read_headers(text, member="WHEEL")
    except InvalidWheelError as e:
        assert theirs is None, f"refused what email accepts: {e}"
        return
    assert theirs is not None, "accepted what email flags as a defect"
    for name in _NAMES:
        assert ours.get_all(name) == (theirs.get_all(name) or [])
        assert ours.get(name) == theirs.get(name)


def test_wheel_file() -> None:
    text = (
        "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.41.2)\nRoot-Is-Purelib: false\n"
        "Tag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n\n"
        "body: ignored\n"
    )
    info = parse_wheel_info(text)
    assert info.wheel_version == (1, 0)
    assert info.generator == "bdist_wheel (0.41.2)"
    assert not info.root_is_purelib
    assert info.tags == ("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Name: demo\nVersion: 1.0\nVersion: 2.0\n", "expected one Version field, found 2"),
        ("Name: demo\n", "expected one Version field, found 0"),
        ("Name: demo\nthis line is prose\nVersion: 1\n", "line 2: not a 'Name: value' field"),
        (" Name: demo\nVersion: 1\n", "line 1: a continuation line comes first"),
        ("Name: demo\nFrom x\nVersion: 1\n", "line 2: an envelope"),
        (":demo\nName: demo\nVersion: 1\n", "line 1: a field without a name"),
    ],
    ids=["twice", "missing", "prose", "continuation-first", "envelope-inside", "no-name"],
)
def test_bad_metadata_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidWheelError, match=problem) as caught:
        parse_metadata_identity(text)
    assert caught.value.member == "METADATA"


def test_metadata_identity_reads_only_the_header_block() -> None:
    identity = parse_metadata_identity("Name: demo\nVersion: 1.0\n\nName: not this\n")
    assert (identity.name, identity.version) == ("demo", "1.0")


def test_envelope_lines_first_and_last_are_what_email_makes_of_them() -> None:
    first = parse_metadata_identity("From someone\nName: demo\nVersion: 1.0\n")
    last = parse_metadata_identity("Name: demo\nVersion: 1.0\nFrom someone\n\nbody\n")
    assert (first.name, first.version) == (last.name, last.version) == ("demo", "1.0")
