"""The skip policy: skip with the reason, or fail when MANYWHEEL_REQUIRE_ROOTS says so."""

from __future__ import annotations

import pytest

from tests.harness.availability import (
    REQUIRE_ROOTS_ENV,
    require,
    skip_or_fail,
    skips_become_failures,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), (None, False)],
    ids=["1", "true", "YES", "0", "empty", "unset"],
)
def test_skips_become_failures(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {REQUIRE_ROOTS_ENV: value}
    assert skips_become_failures(environ) is expected


def test_skip_or_fail_skips_with_the_reason() -> None:
    with pytest.raises(pytest.skip.Exception, match="no debootstrap"):
        skip_or_fail("no debootstrap", {})


def test_skip_or_fail_fails_when_required() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"no debootstrap.*{REQUIRE_ROOTS_ENV}=1"):
        skip_or_fail("no debootstrap", {REQUIRE_ROOTS_ENV: "1"})


def test_require_passes_without_problems_and_joins_them_otherwise() -> None:
    require([], {REQUIRE_ROOTS_ENV: "1"})
    with pytest.raises(pytest.skip.Exception, match="not root; no zstd"):
        require(["not root", "no zstd"], {})
