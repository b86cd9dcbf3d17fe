"""The skip policy: skip with the reason, or fail when MANYWHEEL_REQUIRE_ROOTS says so."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

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

NOBODY = 65534


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


def _as_nobody(action: Callable[[], object]) -> str:
    """Run ``action`` in a forked child that dropped root; "<exception type>: <message>" or "ok"."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        os.close(read_end)
        outcome = "ok"
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            action()
        except BaseException as e:  # pytest.skip and .fail raise BaseExceptions
            outcome = f"{type(e).__name__}: {e}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result = pipe.read().decode()
    os.waitpid(pid, 0)
    return result


@pytest.mark.root
@pytest.mark.parametrize("required", [False, True], ids=["skips", "fails-when-required"])
def test_root_fixture_without_root(required: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real fixture code in a real non-root process: user namespaces run roots, but with an
    empty cache there is no root to run (making one needs root): skip, or fail under the CI
    variable, with that reason."""
    monkeypatch.setenv(REQUIRE_ROOTS_ENV, "1" if required else "0")
    # Somewhere nobody can reach (pytest's tmp_path is under a directory only root may enter).
    shared = Path(tempfile.mkdtemp(prefix="manywheel-nobody-"))
    shared.chmod(0o777)

    def use_root() -> None:
        assert namespace_problems() == []
        next(session_root("bookworm", HarnessCache(shared / "cache")))

    try:
        outcome = _as_nobody(use_root)
        expected = "Failed" if required else "Skipped"
        assert outcome.startswith(f"{expected}: making a bookworm root needs root"), outcome
        assert not list((shared / "cache" / "roots").iterdir())
    finally:
        shutil.rmtree(shared)
