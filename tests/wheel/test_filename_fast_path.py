"""The filename and tag fast paths (``manywheel.wheel.filename``) answer as ``packaging`` does.

``plainly_valid`` and ``tag_keys`` spare a small wheel's ``show`` the import of
``packaging.utils``; they may only say "yes" where ``packaging`` says "yes" too, and the tags
they expand must compare as ``packaging``'s ``Tag`` objects do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.tags import parse_tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from manywheel.wheel.filename import WheelFilename, canonical_name, plainly_valid, tag_keys

#: The local indexes' wheels: thousands of real filenames (where the machine has them).
_INDEXES = (Path("/opt/pypi/files"), Path("/opt/pypi-more/files"), Path("/opt/wheels"))

_TRICKY = [
    "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "foo_bar-1.0-7abc-cp39.cp310-cp39-manylinux_2_17_x86_64.linux_x86_64.whl",
    "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    "a-1!2.0rc1.post3.dev4+local.7-py3-none-any.whl",
    "Foo.Bar-1.0-Py3-NONE-Any.whl",
    "foo__bar-1.0-py3-none-any.whl",
    "foo_-1.0-py3-none-any.whl",
    "_foo-1.0-py3-none-any.whl",
    "foo-1.0-3py-none-any.whl",
    "foo-1.0-py3..py2-none-any.whl",
    "foo-1.0-py3-none-any.WHL",
    "foo-1.0-x-py3-none-any.whl",
    "foo-1.0-1-2-py3-none-any.whl",
    "foo-1.0.-py3-none-any.whl",
    "foo-01.00-py3-none-any.whl",
    "foo-1.0RC1-py3-none-any.whl",
    "foo-v1.0-py3-none-any.whl",
    "føo-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-any-extra.whl",
]


def _packaging_accepts(filename: str) -> bool:
    try:
        parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return True


def _agrees(filename: str) -> None:
    if plainly_valid(filename):
        assert _packaging_accepts(filename), filename
        parsed = WheelFilename.parse(filename)
        packaged = {(t.interpreter, t.abi, t.platform) for t in parse_wheel_filename(filename)[3]}
        assert parsed.tag_keys == packaged
        assert {(t.interpreter, t.abi, t.platform) for t in parsed.tags} == packaged
        assert canonical_name(parsed.name) == canonicalize_name(parsed.name)


@pytest.mark.parametrize("filename", _TRICKY)
def test_tricky_filenames(filename: str) -> None:
    _agrees(filename)


def test_plain_filenames_take_the_fast_path() -> None:
    assert plainly_valid(_TRICKY[0])
    assert plainly_valid(_TRICKY[1])
    assert plainly_valid(_TRICKY[2])
    assert not plainly_valid("foo__bar-1.0-py3-none-any.whl")  # packaging refuses it


def test_real_index_filenames() -> None:
    names = sorted({p.name for d in _INDEXES if d.is_dir() for p in d.glob("*.whl")})
    if not names:
        pytest.skip("no local wheel index on this machine (/opt/pypi/files, /opt/wheels)")
    fast = [n for n in names if plainly_valid(n)]
    assert len(fast) > 0.9 * len(names)  # the point of the fast path: nearly every real name
    for name in names:
        _agrees(name)


_CHARS = "aA0_.-+!9xzRrcpostdev"


@given(st.text(alphabet=_CHARS, max_size=40))
def test_generated_filenames(stem: str) -> None:
    _agrees(f"{stem}.whl")
    _agrees(f"{stem}-py3-none-any.whl")


@given(st.text(alphabet="aA0_.-9yZ", max_size=24))
def test_generated_tag_lines(line: str) -> None:
    keys = tag_keys(line)
    if keys is not None:
        assert keys == {(t.interpreter, t.abi, t.platform) for t in parse_tag(line)}


@given(st.text(alphabet="aA0_.-Zz9", max_size=24))
def test_generated_names(name: str) -> None:
    assert canonical_name(name) == canonicalize_name(name)
