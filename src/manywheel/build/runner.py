"""Run the stages for every selected identifier: before-all once per target, then per
identifier before-build, the PEP 517 build and the in-process repair, on ``jobs`` threads
(each stage is a subprocess, so builds of independent identifiers overlap on every core).

A failed identifier leaves nothing in the wheelhouse; the others go on. A repaired wheel is
written to a staging directory inside the wheelhouse and renamed into place, so the wheelhouse
never holds a partial or unrepaired wheel, even when the run is interrupted.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from manywheel.build.environment import Environment, Session, Workspace
from manywheel.build.frontend import Frontend, wheel_command
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import RunDirectory, log_tail
from manywheel.build.repair_stage import (
    RepairFailedError,
    RepairSettings,
    RepairSettingsSource,
    repair_built,
)
from manywheel.build.results import BuildOutcome, Stage, Status
from manywheel.build.source import ProjectSource, copy_tree
from manywheel.build.targets import TargetPolicies
from manywheel.errors import ManywheelError

if TYPE_CHECKING:
    from manywheel.repair import RepairResult

__all__ = ["BuildSettings", "Progress", "run_builds"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """cibuildwheel's meanings: ``before_all`` runs once per target before its builds, in the
    project's directory; ``before_build`` before each build."""

    before_all: str | None = None
    before_build: str | None = None
    #: ``KEY=VALUE`` settings passed to the backend (``--config-setting``).
    config_settings: tuple[str, ...] = ()
    jobs: int = 2
    #: Seconds a single command may take (``None``: no limit).
    timeout: float | None = None
    #: cibuildwheel's ``build-frontend``: ``build`` (pypa/build with pip) or ``build[uv]``.
    frontend: str = "build"
    #: Variables the frontend gets besides the session's (uv's index settings).
    frontend_env: Mapping[str, str] = field(default_factory=dict)


class Progress(Protocol):
    """Told what happens, from the worker threads (implementations must be thread-safe)."""

    def stage(self, name: str, stage: Stage) -> None: ...

    def finished(self, outcome: BuildOutcome) -> None: ...


class _Failure(Exception):
    def __init__(self, stage: Stage, message: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass(frozen=True, slots=True)
class _Run:
    environment: Environment
    source: ProjectSource
    wheelhouse: Path
    targets: TargetPolicies
    frontends: Mapping[BuildIdentifier, Frontend]
    settings: BuildSettings
    repair: RepairSettingsSource
    run: RunDirectory
    progress: Progress

    def prefix(self, target: str) -> Path:
        return self.run.scratch / "prefix" / target

    def copy_project(self, dest: Path) -> Path:
        copy_tree(self.source.tree, dest, exclude=(self.wheelhouse, self.run.scratch))
        return dest


def _shell(session: Session, command: str, cwd: Path, log: BinaryIO, timeout: float | None) -> int:
    return session.run(
        ["sh", "-c", command], cwd=session.inside(cwd), env={}, log=log, timeout=timeout
    )


def _before_all(ctx: _Run, target: str, identifier: BuildIdentifier) -> str | None:
    """Run before-all for ``target`` in a session of its first identifier; the error or None."""
    command = ctx.settings.before_all
    assert command is not None
    ctx.progress.stage(f"before-all {target}", Stage.BEFORE_ALL)
    scratch = ctx.run.scratch / f"before-all-{target}"
    scratch.mkdir(parents=True)
    workspace = Workspace(scratch, ctx.prefix(target))
    with ctx.run.log(f"before-all-{target}").open("wb") as log:
        try:
            project = ctx.copy_project(scratch / "project")
            with ctx.environment.open(identifier, workspace, log) as session:
                code = _shell(session, command, project, log, ctx.settings.timeout)
        except (ManywheelError, OSError) as e:
            log.write(f"manywheel: {e}\n".encode())
            return f"before-all could not run: {e}"
        except Exception as e:  # a bug: this target fails, the others go on
            log.write(traceback.format_exc().encode())
            return f"before-all: internal error: {type(e).__name__}: {e}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return None if code == 0 else f"before-all exited with status {code}"


def _config_settings(ctx: _Run, session: Session) -> list[str]:
    settings = list(ctx.settings.config_settings)
    native = session.meson_native_file
    if native is not None and ctx.source.backend == "mesonpy":
        settings.append(f"setup-args=--native-file={native}")
    return settings


def _frontend_build(ctx: _Run, session: Session, project: Path, out: Path, log: BinaryIO) -> Path:
    identifier = session.identifier
    frontend = ctx.frontends[identifier]
    argv = wheel_command(
        session.python,
        session.inside(frontend.directory),
        session.inside(project),
        session.inside(out),
        _config_settings(ctx, session),
        uv=frontend.uv,
    )
    # The frontend's own modules are cached bytecode once each interpreter has compiled them
    # (a user's PYTHONDONTWRITEBYTECODE would make every build compile them again).
    env = {"PYTHONDONTWRITEBYTECODE": "", **ctx.settings.frontend_env}
    if frontend.uv:  # uv's cache in the build's scratch: writable in every environment
        uv_cache = session.inside(out.parent / "uv-cache")
        env.update(UV_CACHE_DIR=str(uv_cache), UV_LINK_MODE="copy", UV_PYTHON_DOWNLOADS="never")
    ctx.progress.stage(str(identifier), Stage.BUILD)
    code = session.run(
        argv, cwd=session.inside(project), env=env, log=log, timeout=ctx.settings.timeout
    )
    if code != 0:
        raise _Failure(Stage.BUILD, f"the PEP 517 build failed (exit status {code})")
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise _Failure(Stage.BUILD, f"the frontend wrote {len(wheels)} wheels, not one")
    return wheels[0]


def _repair(ctx: _Run, session: Session, built: Path, staging: Path, log: BinaryIO) -> RepairResult:
    identifier = session.identifier
    ctx.progress.stage(str(identifier), Stage.REPAIR)
    plat = session.variables.get("AUDITWHEEL_PLAT") or ctx.targets.platform_tag(identifier)
    try:
        settings = ctx.repair.get()
        return repair_built(
            built, staging, settings=settings, system=session.audit_options(), plat=plat, log=log
        )
    except RepairFailedError as e:
        raise _Failure(Stage.REPAIR, e.message) from e
    except ManywheelError as e:
        raise _Failure(Stage.REPAIR, f"repair: {e}") from e


def _build_stages(ctx: _Run, identifier: BuildIdentifier, log: BinaryIO) -> RepairResult:
    scratch = ctx.run.scratch / "builds" / str(identifier)
    out = scratch / "dist"
    out.mkdir(parents=True)
    staging = Path(tempfile.mkdtemp(prefix=".manywheel-", dir=ctx.wheelhouse))
    try:
        started = time.monotonic()
        project = ctx.copy_project(scratch / "project")
        log.write(f"manywheel: project copied in {time.monotonic() - started:.2f} s\n".encode())
        target = ctx.environment.target(identifier)
        workspace = Workspace(
            scratch, ctx.prefix(target), tools=(ctx.frontends[identifier].directory,)
        )
        ctx.progress.stage(str(identifier), Stage.ENVIRONMENT)
        with ctx.environment.open(identifier, workspace, log) as session:
            if ctx.settings.before_build:
                ctx.progress.stage(str(identifier), Stage.BEFORE_BUILD)
                code = _shell(
                    session, ctx.settings.before_build, project, log, ctx.settings.timeout
                )
                if code != 0:
                    raise _Failure(Stage.BEFORE_BUILD, f"before-build exited with status {code}")
            built = _frontend_build(ctx, session, project, out, log)
            started = time.monotonic()
            result = _repair(ctx, session, built, staging, log)
            log.write(f"manywheel: repair took {time.monotonic() - started:.2f} s\n".encode())
        final = ctx.wheelhouse / result.output.name
        result.output.replace(final)
        return replace(result, output=final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _build_one(ctx: _Run, identifier: BuildIdentifier) -> BuildOutcome:
    started = time.monotonic()
    path = ctx.run.log(str(identifier))
    with path.open("wb") as log:
        try:
            result = _build_stages(ctx, identifier, log)
        except _Failure as failure:
            stage, error = failure.stage, str(failure)
        except ManywheelError as e:
            stage, error = Stage.ENVIRONMENT, str(e)
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            stage, error = Stage.ENVIRONMENT, f"{where}{e.strerror or e}"
        except Exception as e:  # a bug: this identifier fails, the others go on
            log.write(traceback.format_exc().encode())
            stage, error = Stage.ENVIRONMENT, f"internal error: {type(e).__name__}: {e}"
        else:
            return BuildOutcome(
                identifier,
                Status.BUILT,
                seconds=time.monotonic() - started,
                wheel=result.output,
                built_wheel=result.input.name,
                size=result.output_size,
                log=path,
                repair=result,
            )
        log.write(f"manywheel: {stage.value} failed: {error}\n".encode())
    return _failed(identifier, stage, error, path, time.monotonic() - started)


def _failed(
    identifier: BuildIdentifier, stage: Stage, error: str, log: Path | None, seconds: float = 0.0
) -> BuildOutcome:
    tail = log_tail(log) if log is not None else ()
    return BuildOutcome(
        identifier, Status.FAILED, seconds, stage=stage, error=error, log=log, log_tail=tail
    )


def _groups(ctx: _Run, identifiers: Sequence[BuildIdentifier]) -> dict[str, list[BuildIdentifier]]:
    groups: dict[str, list[BuildIdentifier]] = {}
    for identifier in identifiers:
        groups.setdefault(ctx.environment.target(identifier), []).append(identifier)
    return groups


def run_builds(
    identifiers: Sequence[BuildIdentifier],
    *,
    environment: Environment,
    source: ProjectSource,
    wheelhouse: Path,
    targets: TargetPolicies,
    frontends: Mapping[BuildIdentifier, Frontend],
    settings: BuildSettings,
    repair: RepairSettings | Callable[[], RepairSettings],
    run: RunDirectory,
    progress: Progress,
) -> list[BuildOutcome]:
    """Build, repair and write every identifier; one outcome each, in the identifiers' order.
    ``environment.prepare`` must have run. ``repair`` may be a function making the settings:
    it is called once, on a thread, while the first builds run."""
    repairs = RepairSettingsSource(repair)
    repairs.start()
    ctx = _Run(
        environment, source, wheelhouse, targets, frontends, settings, repairs, run, progress
    )
    outcomes: dict[BuildIdentifier, BuildOutcome] = {}

    def record(outcome: BuildOutcome) -> None:
        outcomes[outcome.identifier] = outcome
        progress.finished(outcome)

    groups = _groups(ctx, identifiers)
    for target in groups:
        ctx.prefix(target).mkdir(parents=True)
    pending: dict[Future[object], tuple[str, str | BuildIdentifier]] = {}
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:

        def submit(
            fn: Callable[..., object], *args: object, key: tuple[str, str | BuildIdentifier]
        ) -> None:
            pending[pool.submit(fn, ctx, *args)] = key

        for target, members in groups.items():
            if settings.before_all:
                submit(_before_all, target, members[0], key=("before-all", target))
            else:
                for identifier in members:
                    submit(_build_one, identifier, key=("build", identifier))
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    kind, key = pending.pop(future)
                    if kind == "build":
                        result = future.result()
                        assert isinstance(result, BuildOutcome)
                        record(result)
                        continue
                    assert isinstance(key, str)
                    error = future.result()
                    for identifier in groups[key]:
                        if error is None:
                            submit(_build_one, identifier, key=("build", identifier))
                        else:
                            log = run.log(f"before-all-{key}")
                            record(_failed(identifier, Stage.BEFORE_ALL, str(error), log))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return [outcomes[i] for i in identifiers]
