"""Fixtures for the survey's tests: the machine's local package indexes (real wheels of hundreds of
projects, as pip is configured to use them) and a loopback HTTP server over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.availability import skip_or_fail
from tests.survey.server import IndexServer, serve

#: The machine image's local indexes (see `pip config list`): two PEP 503 trees and find-links.
PYPI = Path("/opt/pypi")
PYPI_MORE = Path("/opt/pypi-more")
FIND_LINKS = Path("/opt/wheels")


def require_local_index() -> None:
    missing = [p for p in (PYPI / "simple", PYPI_MORE / "simple", FIND_LINKS) if not p.is_dir()]
    if missing:
        skip_or_fail(f"the machine's local package index is absent: {', '.join(map(str, missing))}")


@pytest.fixture(scope="session")
def local_index() -> Path:
    require_local_index()
    return PYPI


@pytest.fixture(scope="session")
def local_index_more() -> Path:
    require_local_index()
    return PYPI_MORE


@pytest.fixture
def http_index(local_index: Path) -> Iterator[IndexServer]:
    with serve(local_index) as server:
        yield server


def local_wheel(name: str) -> Path:
    """A wheel of the local indexes by filename (skips, or fails in CI, when absent)."""
    roots = (PYPI / "files", PYPI_MORE / "files", FIND_LINKS)
    found = next((root / name for root in roots if (root / name).is_file()), None)
    if found is None:
        skip_or_fail(f"{name} is not in the machine's local index")
    return found
