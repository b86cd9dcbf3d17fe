"""Whether this machine can do what a harness test needs, and the skip-or-fail policy.

Harness functions raise :class:`Unavailable` when the machine lacks a capability (not root, a
tool or a system package missing). Tests turn that into a skip with the reason, unless the
environment sets ``MANYWHEEL_REQUIRE_ROOTS=1`` (CI does), which turns the skip into a failure:
on a CI machine a missing capability is a broken setup, not a reason to prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import NoReturn

import pytest

__all__ = [
    "REQUIRE_ROOTS_ENV",
    "Unavailable",
    "namespace_problems",
    "require",
    "skip_or_fail",
    "skips_become_failures",
]

REQUIRE_ROOTS_ENV = "MANYWHEEL_REQUIRE_ROOTS"


class Unavailable(Exception):
    """This machine cannot provide what was asked for; the message says what is missing."""


def skips_become_failures(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``MANYWHEEL_REQUIRE_ROOTS`` is set to a true value (``1``, ``true``, ``yes``)."""
    env = os.environ if environ is None else environ
    return env.get(REQUIRE_ROOTS_ENV, "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str, environ: Mapping[str, str] | None = None) -> NoReturn:
    """``pytest.skip(reason)``, or ``pytest.fail`` when skips must become failures."""
    if skips_become_failures(environ):
        pytest.fail(f"{reason} (and {REQUIRE_ROOTS_ENV}=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def missing_tools(tools: Sequence[str]) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def namespace_problems() -> list[str]:
    """Why :func:`tests.harness.run_in_root` cannot work here; empty when it can.

    Being root is not enough inside some containers, so this really creates a mount namespace.
    """
    if os.geteuid() != 0:
        return ["not running as root (chroot and mount namespaces need it)"]
    missing = missing_tools(["unshare", "chroot", "mount", "tar", "zstd"])
    if missing:
        return [f"missing tools: {', '.join(missing)} (apt-get install util-linux coreutils zstd)"]
    probe = subprocess.run(
        ["unshare", "--mount", "--fork", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return [f"cannot create a mount namespace: {probe.stderr.strip()}"]
    return []


def require(problems: Sequence[str], environ: Mapping[str, str] | None = None) -> None:
    """Skip (or fail, see the module docstring) when ``problems`` is not empty."""
    if problems:
        skip_or_fail("; ".join(problems), environ)
