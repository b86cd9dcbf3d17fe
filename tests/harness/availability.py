"""Whether this machine can do what a harness test needs, and the skip-or-fail policy.

Harness functions raise :class:`Unavailable` when the machine lacks a capability (not root, a
tool or a system package missing). Tests turn that into a skip with the reason, unless the
environment sets ``MANYWHEEL_REQUIRE_ROOTS=1`` (CI does), which turns the skip into a failure:
on a CI machine a missing capability is a broken setup, not a reason to prove nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from typing import NoReturn

import pytest

from manywheel.build.roots_errors import UnavailableError
from manywheel.build.roots_run import isolation_problems

__all__ = [
    "REQUIRE_ROOTS_ENV",
    "Unavailable",
    "namespace_problems",
    "require",
    "skip_or_fail",
    "skips_become_failures",
]

REQUIRE_ROOTS_ENV = "MANYWHEEL_REQUIRE_ROOTS"


#: This machine cannot provide what was asked for; the message says what is missing. The
#: production error, so what manywheel's own roots and interpreters raise is caught alike.
Unavailable = UnavailableError


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

    As root, mount and PID namespaces; otherwise a user namespace too. Being root is not enough
    inside some containers, so this really creates the namespaces.
    """
    return isolation_problems(os.geteuid() != 0, tools=["tar", "zstd"])


def require(problems: Sequence[str], environ: Mapping[str, str] | None = None) -> None:
    """Skip (or fail, see the module docstring) when ``problems`` is not empty."""
    if problems:
        skip_or_fail("; ".join(problems), environ)
