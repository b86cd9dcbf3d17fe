"""Fixtures for the linker tests: the programs and libraries of tests/fixtures/linker/build.sh,
built once per session, and the host loader's settings as the real loader shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.linker import SearchSettings
from tests.harness.fixtures import bookworm_root, harness_cache
from tests.linker.oracle import GLIBC_LOADER, run_loader
from tests.linker.programs import built

__all__ = ["bookworm_root", "built", "harness_cache", "host_settings"]


@pytest.fixture(scope="session")
def host_settings(built: Path) -> SearchSettings:
    """Settings that match this machine's loader: the hwcaps subdirectories it tries (read from
    its own LD_DEBUG output for a library it cannot find)."""
    if not Path(GLIBC_LOADER).exists():
        pytest.skip("no x86-64 glibc loader on this machine")
    subdirs = run_loader(str(built / "bin" / "missing_exe")).system_subdirs
    hwcaps = tuple(s.removeprefix("glibc-hwcaps/") for s in subdirs if s.startswith("glibc-"))
    legacy = tuple(s for s in subdirs if not s.startswith("glibc-hwcaps/"))
    return SearchSettings(hwcaps=hwcaps, legacy_subdirs=legacy)
