"""PyYAML built through an environment as the build runner drives one: before-all installs
libyaml-dev, the build runs pip in the environment, the repair resolves inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from manywheel.build.environment import Environment, Workspace
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots_index import PackageIndex
from manywheel.repair import (
    PatchelfPatcher,
    RepairOptions,
    RepairRequest,
    RepairResult,
    repair_wheel,
)

__all__ = ["PyyamlBuild", "build_pyyaml", "host_index"]

BUILD = (
    "{python} -m venv {scratch}/venv && {scratch}/venv/bin/pip wheel --no-deps"
    " --no-binary pyyaml pyyaml==6.0.3 -w {scratch}/dist"
)


@dataclass(frozen=True, slots=True)
class PyyamlBuild:
    built: Path  # the wheel as the build made it
    repaired: RepairResult
    audit_root: str  # where the repair resolved libraries


def host_index() -> PackageIndex:
    """pip inside gets what the host's pip is configured with (PyPI and the local index)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    return PackageIndex.from_pip_config(listed.stdout, os.environ)


def build_pyyaml(
    environment: Environment,
    identifier: BuildIdentifier,
    tmp_path: Path,
    *,
    platform_tag: str,
    patcher: PatchelfPatcher,
    before_all: str,
) -> PyyamlBuild:
    log_path = tmp_path / "build.log"
    with log_path.open("wb") as log:
        environment.prepare([identifier], log)
        first = Workspace(tmp_path / "before-all", tmp_path / "prefix")
        first.scratch.mkdir()
        with environment.open(identifier, first, log) as session:
            cwd = session.inside(first.scratch)
            code = session.run(["sh", "-c", before_all], cwd=cwd, env={}, log=log)
            assert code == 0, log_path.read_text()[-3000:]
        build = Workspace(tmp_path / "build", tmp_path / "prefix")
        build.scratch.mkdir()
        with environment.open(identifier, build, log) as session:
            scratch = session.inside(build.scratch)
            command = BUILD.format(python=session.python, scratch=scratch)
            code = session.run(["sh", "-c", command], cwd=scratch, env={}, log=log, timeout=900)
            assert code == 0, log_path.read_text()[-3000:]
            (built,) = (build.scratch / "dist").glob("*.whl")
            audit = session.audit_options()
            repaired = repair_wheel(
                built,
                tmp_path / "wheelhouse",
                RepairRequest(
                    patcher=patcher, options=RepairOptions(plat=platform_tag), audit=audit
                ),
            )
    return PyyamlBuild(built, repaired, audit.root)
