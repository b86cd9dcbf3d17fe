"""Fixtures for the linker tests: the programs and libraries of tests/fixtures/linker/build.sh,
built once per session, and the host loader's settings as the real loader shows them."""

from __future__ import annotations

import re
import subprocess
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
    return SearchSettings(hwcaps=hwcaps, legacy_subdirs=legacy, platform=_host_platform(built))


def _host_platform(built: Path) -> str | None:
    """The loader's ``$PLATFORM``, which glibc on x86_64 sets from the CPU (``haswell`` on a
    CPU with AVX2 and friends), not always the kernel's ``AT_PLATFORM``: read from its own
    LD_DEBUG search path for ``platform_exe`` (RPATH ``.../plat/$PLATFORM``)."""
    env = {"PATH": "/usr/bin:/bin", "LD_TRACE_LOADED_OBJECTS": "1", "LD_DEBUG": "libs"}
    argv = [GLIBC_LOADER, str(built / "bin" / "platform_exe")]
    stderr = subprocess.run(argv, env=env, capture_output=True, text=True, check=False).stderr
    match = re.search(re.escape(str(built)) + r"/plat/([^/:\s]+)", stderr)
    return None if match is None else match[1]
