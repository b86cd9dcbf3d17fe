"""cibuildwheel's selection rules: brace expansion, fnmatch patterns, requires-python as X.Y.99,
enable groups, archs keywords, and the split into built / named-but-unavailable / left out."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from manywheel.build import (
    BuildIdentifier,
    BuildSelector,
    EnableGroup,
    Platform,
    expand_braces,
    parse_archs,
    select_identifiers,
    selector_matches,
)
from manywheel.errors import ManywheelError


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("cp3{10,11}-*", ["cp310-*", "cp311-*"]),
        ("cp3{8..10}-*", ["cp38-*", "cp39-*", "cp310-*"]),
        ("{cp,pp}3{9,10}", ["cp39", "cp310", "pp39", "pp310"]),
        ("cp3{1{0,1},9}-x", ["cp310-x", "cp311-x", "cp39-x"]),
        ("plain", ["plain"]),
        ("{single}", ["{single}"]),
        ("unclosed{a,b", ["unclosed{a,b"]),
    ],
)
def test_brace_expansion(pattern: str, words: list[str]) -> None:
    assert expand_braces(pattern) == words


def test_a_huge_expansion_is_refused() -> None:
    with pytest.raises(ManywheelError, match="expands to more than"):
        expand_braces("{1..1000}{1..100}")


@pytest.mark.parametrize(
    ("patterns", "identifier", "matches"),
    [
        ("*", "cp311-manylinux_x86_64", True),
        ("cp3?-*", "cp39-manylinux_x86_64", True),
        ("cp3?-*", "cp311-manylinux_x86_64", False),
        ("cp31[01]-*", "cp310-manylinux_x86_64", True),
        ("cp31[01]-*", "cp312-manylinux_x86_64", False),
        ("*-musllinux_*", "cp312-musllinux_aarch64", True),
        ("cp39-* *-manylinux_aarch64", "cp311-manylinux_aarch64", True),
        ("", "cp311-manylinux_x86_64", False),
        ("CP311-*", "cp311-manylinux_x86_64", False),  # case-sensitive, as on Linux
    ],
)
def test_selector_matches(patterns: str, identifier: str, matches: bool) -> None:
    assert selector_matches(patterns, identifier) is matches


def _id(text: str) -> BuildIdentifier:
    return BuildIdentifier.parse(text)


def test_requires_python_checks_x_y_99() -> None:
    selector = BuildSelector(requires_python=SpecifierSet(">=3.9.5,<3.13"))
    assert selector(_id("cp39-manylinux_x86_64"))  # 3.9.99 >= 3.9.5
    assert not selector(_id("cp38-manylinux_x86_64"))
    assert selector(_id("cp312-manylinux_x86_64"))
    assert not selector(_id("cp313-manylinux_x86_64"))


def test_free_threaded_and_pypy_need_their_group() -> None:
    ft, pp = _id("cp313t-manylinux_x86_64"), _id("pp310-manylinux_x86_64")
    assert not BuildSelector()(ft)
    assert not BuildSelector()(pp)
    enabled = BuildSelector(enable=EnableGroup.parse(["all"]))
    assert enabled(ft)
    assert enabled(pp)


def test_skip_wins_over_build() -> None:
    selector = BuildSelector(build="cp31*", skip="*-musllinux_*")
    assert selector(_id("cp311-manylinux_x86_64"))
    assert not selector(_id("cp311-musllinux_x86_64"))


def test_unknown_enable_group_is_a_usage_error() -> None:
    with pytest.raises(ManywheelError, match="unknown enable group 'pypi'"):
        EnableGroup.parse(["pypi"])


@pytest.mark.parametrize(
    ("text", "native", "archs"),
    [
        ("auto", "x86_64", ("x86_64", "i686")),
        ("auto", "aarch64", ("aarch64",)),
        ("auto64", "x86_64", ("x86_64",)),
        ("auto32", "x86_64", ("i686",)),
        ("native", "x86_64", ("x86_64",)),
        ("x86_64, aarch64 x86_64", "x86_64", ("x86_64", "aarch64")),
        ("all", "x86_64", ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")),
    ],
)
def test_parse_archs(text: str, native: str, archs: tuple[str, ...]) -> None:
    assert parse_archs(text, native) == archs


@pytest.mark.parametrize("text", ["sparc", "", " , "])
def test_bad_archs_are_usage_errors(text: str) -> None:
    with pytest.raises(ManywheelError, match="architecture"):
        parse_archs(text, "x86_64")


def _only(*buildable: str) -> object:
    names = set(buildable)
    return lambda i: None if str(i) in names else f"no interpreter for {i}"


def test_selection_splits_built_named_and_left_out() -> None:
    selector = BuildSelector(
        build="cp31{0,1}-* cp314-manylinux_x86_64 cp39-musllinux_x86_64",
        skip="cp310-musllinux_*",
        requires_python=SpecifierSet(">=3.9"),
    )
    selection = select_identifiers(
        selector,
        archs=("x86_64",),
        platforms=tuple(Platform),
        unavailable=_only("cp310-manylinux_x86_64", "cp311-manylinux_x86_64"),  # type: ignore[arg-type]
    )
    assert [str(i) for i in selection.build] == ["cp310-manylinux_x86_64", "cp311-manylinux_x86_64"]
    assert [(str(i), why) for i, why in selection.unavailable] == [
        ("cp39-musllinux_x86_64", "no interpreter for cp39-musllinux_x86_64"),
        ("cp314-manylinux_x86_64", "no interpreter for cp314-manylinux_x86_64"),
    ]
    assert [str(i) for i, _ in selection.left_out] == ["cp311-musllinux_x86_64"]


def test_a_named_identifier_the_project_excludes_says_so() -> None:
    selector = BuildSelector(build="cp37-manylinux_x86_64", requires_python=SpecifierSet(">=3.8"))
    selection = select_identifiers(
        selector, archs=("x86_64",), platforms=(Platform.MANYLINUX,), unavailable=lambda i: None
    )
    assert selection.build == ()
    assert selection.unavailable == (
        (_id("cp37-manylinux_x86_64"), "the project's requires-python (>=3.8) excludes it"),
    )


def test_a_named_free_threaded_identifier_needs_no_enable() -> None:
    selection = select_identifiers(
        BuildSelector(build="cp313t-manylinux_x86_64"),
        archs=("x86_64",),
        platforms=(Platform.MANYLINUX,),
        unavailable=lambda i: None,
    )
    assert selection.build == (_id("cp313t-manylinux_x86_64"),)


def test_a_literal_that_is_not_an_identifier_is_a_usage_error() -> None:
    with pytest.raises(ManywheelError, match="--build: not a build identifier: 'cp311'"):
        BuildSelector(build="cp311").named()
