"""Selectors: brace expansion compared with bracex (what cibuildwheel uses), fnmatch matching
of build identifiers, and a bound on expansions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.build import expand_braces, selector_matches
from manywheel.build.patterns import MAX_EXPANSIONS, PatternError

bracex = pytest.importorskip("bracex", reason="bracex (cibuildwheel's dependency) missing")

PATTERNS = [
    "cp3{10,11}-*",
    "cp3{8..13}-*",
    "{a,b{c,d}}x",
    "{1..3}",
    "{01..10}",
    "{a..e}",
    "{1..9..2}",
    "{x}",
    "\\{a,b\\}",
    "a{,b}c",
    "{a,}",
    "{}",
    "{,}",
    "cp3{9,1{0,1}}-*",
    "{5..1}",
    "{e..a}",
    "{-2..2}",
    "{a..5}",
    "x{y",
    "x}y",
    "{a,b}{c,d}",
    "{{a,b}}",
    "{a,{b}}",
    "{1..3..0}",
    "{-05..5}",
    "*-manylinux_{x86_64,i686}",
    "{a\\,b,c}",
    "cp31{0..4}{,t}-*linux_{x86_64,aarch64}",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_expansion_as_bracex(pattern: str) -> None:
    assert expand_braces(pattern) == bracex.expand(pattern)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab{},1-*?\\", max_size=14))
def test_random_patterns_like_bracex(pattern: str) -> None:
    """Commas, nesting, escapes and literal braces; sequences are the cases above (bash and
    bracex disagree with each other on some invalid ones, such as ``{a..},}``)."""
    try:
        expected = bracex.expand(pattern, limit=MAX_EXPANSIONS)
    except Exception:  # bracex refuses some inputs (limits, bad ranges): skip those
        return
    assert expand_braces(pattern) == expected


@pytest.mark.parametrize(
    ("patterns", "identifier", "expected"),
    [
        ("cp311-*", "cp311-manylinux_x86_64", True),
        ("cp3{10,11}-* pp*", "pp311-manylinux_x86_64", True),
        ("*-musllinux*", "cp311-manylinux_x86_64", False),
        ("cp3??t-*", "cp314t-manylinux_x86_64", True),
        ("cp3??t-*", "cp314-manylinux_x86_64", False),
        ("*-*linux_[ai]*", "cp312-musllinux_i686", True),
        ("CP311-*", "cp311-manylinux_x86_64", False),
        ("", "cp311-manylinux_x86_64", False),
    ],
)
def test_selector_matches(patterns: str, identifier: str, expected: bool) -> None:
    assert selector_matches(patterns, identifier) is expected


def test_expansions_are_bounded() -> None:
    with pytest.raises(PatternError, match="expands to more than"):
        expand_braces("{a,b}" * 14)
    with pytest.raises(PatternError, match="expands to more than"):
        expand_braces("{1..100000}")
