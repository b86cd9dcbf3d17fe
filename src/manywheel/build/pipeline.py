"""One ``manywheel build`` run from a selection to outcomes: check the wheelhouse, prepare the
environment and the frontend (cached), run the builds, and report every selected identifier,
the unavailable ones included."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from manywheel.build.environment import Environment
from manywheel.build.frontend import Frontend, ensure_frontend, frontend_pins
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import RunDirectory
from manywheel.build.repair_stage import RepairSettings
from manywheel.build.results import BuildOutcome, Status
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.runner import BuildSettings, Progress, run_builds
from manywheel.build.selectors import Selection
from manywheel.build.source import ProjectSource
from manywheel.build.targets import TargetPolicies
from manywheel.errors import InputError, ManywheelError

__all__ = ["BuildRun", "build_wheels", "check_wheelhouse"]


@dataclass(frozen=True, slots=True)
class BuildRun:
    """What a run did: one outcome per identifier (built, failed or unavailable), in order."""

    outcomes: tuple[BuildOutcome, ...]
    environment: str
    source: ProjectSource
    wheelhouse: Path
    log_dir: Path

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)


def check_wheelhouse(path: Path) -> Path:
    """Create the wheelhouse if needed and prove it writable, before anything is built: an
    :class:`InputError` naming it otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except (FileExistsError, NotADirectoryError):
        raise InputError("the wheel directory is not a directory", path=str(path)) from None
    except OSError as e:
        raise InputError(
            f"cannot write to the wheel directory: {e.strerror}", path=str(path)
        ) from e
    return path


def _frontends(
    identifiers: Sequence[BuildIdentifier],
    *,
    cache: CacheDirectory,
    pip: Sequence[str],
    environ: Mapping[str, str],
    run: RunDirectory,
    uv_arch: str | None,
) -> dict[BuildIdentifier, Frontend]:
    installed: dict[str, Frontend] = {}
    with run.log("frontend").open("wb") as log:
        for identifier in identifiers:
            key = frontend_pins(identifier.version)
            if key not in installed:
                installed[key] = ensure_frontend(
                    cache, key, pip=pip, environ=environ, log=log, uv_arch=uv_arch
                )
    return {i: installed[frontend_pins(i.version)] for i in identifiers}


def build_wheels(
    selection: Selection,
    *,
    environment: Environment,
    source: ProjectSource,
    wheelhouse: Path,
    targets: TargetPolicies,
    settings: BuildSettings,
    repair: RepairSettings | Callable[[], RepairSettings],
    cache: CacheDirectory,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log_parent: Path,
    progress: Progress,
    host_arch: str,
) -> BuildRun:
    """Build every identifier of ``selection.build``; the unavailable ones become outcomes with
    their reason. A failure to prepare the environment or the frontend (a missing tool) raises
    :class:`~manywheel.ToolError` naming the log; a failed identifier does not."""
    run = RunDirectory.create(log_parent)
    try:
        if selection.build:
            prepare_log = run.log("prepare")
            try:
                with prepare_log.open("wb") as log:
                    environment.prepare(selection.build, log)
                uv_arch = host_arch if settings.frontend == "build[uv]" else None
                frontends = _frontends(
                    selection.build, cache=cache, pip=pip, environ=environ, run=run, uv_arch=uv_arch
                )
            except ManywheelError as e:
                e.message = f"{e.message} (log: {run.logs})"
                raise
            built = run_builds(
                selection.build,
                environment=environment,
                source=source,
                wheelhouse=wheelhouse,
                targets=targets,
                frontends=frontends,
                settings=settings,
                repair=repair,
                run=run,
                progress=progress,
            )
        else:
            built = []
    finally:
        run.remove_scratch()
    missing = [BuildOutcome(i, Status.UNAVAILABLE, error=why) for i, why in selection.unavailable]
    for outcome in missing:
        progress.finished(outcome)
    outcomes = sorted([*built, *missing], key=lambda o: o.identifier.sort_key)
    return BuildRun(tuple(outcomes), environment.name, source, wheelhouse, run.logs)
