"""Member names: the fast regex that accepts safe names agrees with the checks that explain
unsafe ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manywheel.errors import UnsafeWheelError
from manywheel.wheel.safety import _SAFE, check_name, why_unsafe

_SAFE_NAMES = [
    "a",
    "a/b",
    "a/b/",
    "pkg-1.0.dist-info/RECORD",
    "a/.hidden",
    "a/..b",
    "a/b..",
    "...",
    "a/.../b",
    "é/ü",
    "a/x:y",
    "1:x",
]
_UNSAFE = [
    ("", "empty"),
    ("/a", "absolute path"),
    ("a//b", "empty path component"),
    ("a/./b", "'.', '..'"),
    ("a/../b", "'.', '..'"),
    ("..", "'.', '..'"),
    ("../a", "'.', '..'"),
    ("a/..", "'.', '..'"),
    ("a//", "'.', '..'"),
    (".", "'.', '..'"),
    ("a\\b", "backslash"),
    ("C:/x", "drive-letter"),
    ("c:x", "drive-letter"),
    ("é:x", "drive-letter"),
    ("a/b\x00", "control character"),
    ("a\x7f", "control character"),
    ("a\nb", "control character"),
]


@pytest.mark.parametrize("name", _SAFE_NAMES, ids=repr)
def test_safe_names_pass(name: str) -> None:
    check_name(name)
    assert _SAFE.fullmatch(name)


@pytest.mark.parametrize(("name", "why"), _UNSAFE, ids=[repr(n) for n, _ in _UNSAFE])
def test_unsafe_names_are_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(UnsafeWheelError, match="unsafe member name") as info:
        check_name(name, path="x.whl")
    assert why in str(info.value)
    assert _SAFE.fullmatch(name) is None


@given(st.text(alphabet=st.sampled_from(["a", "é", "/", ".", "\\", ":", "\x00", "\n", "C", "1"])))
def test_fast_path_agrees_with_the_explained_checks(name: str) -> None:
    assert (_SAFE.fullmatch(name) is not None) == (why_unsafe(name) is None)
