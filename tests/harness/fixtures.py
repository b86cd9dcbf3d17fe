"""pytest fixtures over the harness, with the skip-or-fail policy applied.

Register once for the whole suite in ``tests/conftest.py``::

    pytest_plugins = ["tests.harness.fixtures"]

Then a test asks for ``bookworm_root``, ``bullseye_root`` or ``trixie_root`` (a session-wide
unpacked root) or ``sdist_wheel`` (a builder: ``sdist_wheel("pyyaml", python="3.11") -> Path``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.availability import Unavailable, namespace_problems, require, skip_or_fail
from tests.harness.cache import HarnessCache
from tests.harness.roots import debian_root, scratch_base
from tests.harness.sdists import build_sdist_wheel

__all__ = [
    "SdistWheelBuilder",
    "bookworm_root",
    "bullseye_root",
    "harness_cache",
    "sdist_wheel",
    "session_root",
    "trixie_root",
]

SdistWheelBuilder = Callable[..., Path]


@pytest.fixture(scope="session")
def harness_cache() -> HarnessCache:
    return HarnessCache.default()


def session_root(suite: str, cache: HarnessCache) -> Iterator[Path]:
    """Yield a fresh unpacked ``suite`` root, removed afterwards; skip or fail when impossible."""
    require(namespace_problems())
    workdir = Path(tempfile.mkdtemp(prefix=f"manywheel-{suite}-", dir=scratch_base()))
    try:
        try:
            root = debian_root(suite, workdir / "root", cache=cache)
        except Unavailable as e:
            skip_or_fail(str(e))
        yield root
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def bookworm_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 12 root (glibc 2.36, python 3.11), shared by the session: don't break it."""
    yield from session_root("bookworm", harness_cache)


@pytest.fixture(scope="session")
def bullseye_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 11 root (glibc 2.31, python 3.9), shared by the session: don't break it."""
    yield from session_root("bullseye", harness_cache)


@pytest.fixture(scope="session")
def trixie_root(harness_cache: HarnessCache) -> Iterator[Path]:
    """A minimal Debian 13 root (glibc 2.41, python 3.13), shared by the session: don't break it."""
    yield from session_root("trixie", harness_cache)


@pytest.fixture(scope="session")
def sdist_wheel(harness_cache: HarnessCache) -> SdistWheelBuilder:
    """``sdist_wheel(name, version=None, *, python)``: a cached wheel built from an sdist."""

    def build(name: str, version: str | None = None, *, python: str) -> Path:
        try:
            return build_sdist_wheel(name, version, python=python, cache=harness_cache)
        except Unavailable as e:
            skip_or_fail(str(e))

    return build
