"""The skip policy: skip with the reason, or fail when MANYWHEEL_REQUIRE_ROOTS says so."""

from __future__ import annotations

import pytest

from tests.harness.availability import (
    REQUIRE_ROOTS_ENV,
    namespace_problems,
    require,
    skip_or_fail,
    skips_become_failures,
)
from tests.harness.cache import HarnessCache
from tests.harness.fixtures import session_root
from tests.harness.nobody import as_nobody, shared_directory


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


@pytest.mark.root
@pytest.mark.parametrize("required", [False, True], ids=["skips", "fails-when-required"])
def test_root_fixture_without_root(required: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real fixture code in a real non-root process: user namespaces run roots, but with an
    empty cache there is no root to run (making one needs root): skip, or fail under the CI
    variable, with that reason."""
    monkeypatch.setenv(REQUIRE_ROOTS_ENV, "1" if required else "0")
    with shared_directory() as shared:

        def use_root() -> None:
            assert namespace_problems() == []
            next(session_root("bookworm", HarnessCache(shared / "cache")))

        outcome = as_nobody(use_root)
        leftovers = list((shared / "cache" / "roots").iterdir())
    expected = "Failed" if required else "Skipped"
    assert outcome.startswith(f"{expected}: making a bookworm root needs root"), outcome
    assert leftovers == []
