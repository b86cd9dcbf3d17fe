"""Fixtures for the ELF reader: host-built fixtures (gcc, once per session), the committed
cross-architecture binaries, and a sample of the system's shared libraries."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.elf import build

FIXTURES = Path(build.__file__).resolve().parent
CROSS = FIXTURES / "cross"
SYSTEM_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/usr/bin")
TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


@pytest.fixture(scope="session")
def host_fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The host set built with gcc (see tests/fixtures/elf/build.py)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: cannot build the host ELF fixtures")
    return build.build_host(tmp_path_factory.mktemp("elf-fixtures"))


def cross_files() -> list[Path]:
    """Every committed cross-architecture fixture."""
    return sorted(p for p in CROSS.glob("*/*") if p.is_file())


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _walk(top: str) -> Iterator[Path]:
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def system_libraries(limit: int) -> list[Path]:
    """Up to ``limit`` distinct ELF files (shared libraries first) from the system
    directories, in a stable order."""
    seen: set[Path] = set()
    found: list[Path] = []
    for top in SYSTEM_DIRS:
        for path in _walk(top):
            real = path.resolve()
            if real in seen or not real.is_file() or not _is_elf(real):
                continue
            seen.add(real)
            found.append(real)
            if len(found) >= limit:
                return found
    return found
