"""One ``manywheel build`` run from a selection to outcomes: check the wheelhouse, prepare the
environment and the frontends (cached), run every identifier's stages (build, repair, test,
check), report every selected identifier — the unavailable ones included — and, when asked,
upload the run's wheels (all or nothing)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.build.config import BuildOptions
from manywheel.build.environment import Environment
from manywheel.build.frontend import (
    FRONTEND_EQUIVALENTS,
    Frontend,
    ensure_frontend,
    frontend_pins,
)
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import RunDirectory
from manywheel.build.results import BuildOutcome, Status
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.runner import BuildSettings, Progress, StagePlan, run_builds
from manywheel.build.selectors import Selection
from manywheel.build.source import ProjectSource
from manywheel.build.targets import TargetPolicies
from manywheel.errors import InputError, ManywheelError
from manywheel.values import value_class

if TYPE_CHECKING:  # the upload stage (and the audit it brings) loads only when it runs
    from manywheel.build.publishing import UploadSettings
    from manywheel.build.upload import UploadError, UploadReport, WheelUpload

__all__ = ["BuildRun", "build_wheels", "check_wheelhouse", "frontend_name"]


@value_class
class BuildRun:
    """What a run did: one outcome per identifier (built, failed or unavailable), in order."""

    outcomes: tuple[BuildOutcome, ...]
    environment: str
    source: ProjectSource
    wheelhouse: Path
    log_dir: Path
    #: The upload stage's report (``None``: no ``--upload``).
    upload: UploadReport | None = None
    #: What stopped the uploads: the index refused one or could not be reached (exit code 4).
    upload_error: UploadError | None = None

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def ok(self) -> bool:
        """Every identifier built (tested, checked) and, with ``--upload``, every wheel on the
        index."""
        uploaded = self.upload is None or all(w.outcome.ok for w in self.upload.wheels)
        return all(o.ok for o in self.outcomes) and uploaded and self.upload_error is None


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


def frontend_name(options: BuildOptions | None) -> str:
    """The frontend an identifier builds with: ``build`` (the default) or ``build[uv]``;
    cibuildwheel's ``pip`` and ``uv`` map to the one that makes the same wheel."""
    name = options.build_frontend.name if options and options.build_frontend else "build"
    return FRONTEND_EQUIVALENTS.get(name, name)


def _frontends(
    identifiers: Sequence[BuildIdentifier],
    *,
    options: Mapping[BuildIdentifier, BuildOptions],
    cache: CacheDirectory,
    pip: Sequence[str],
    environ: Mapping[str, str],
    run: RunDirectory,
    host_arch: str,
) -> dict[BuildIdentifier, Frontend]:
    installed: dict[tuple[str, bool], Frontend] = {}
    chosen: dict[BuildIdentifier, Frontend] = {}
    with run.log("frontend").open("wb") as log:
        for identifier in identifiers:
            uv = frontend_name(options.get(identifier)) == "build[uv]"
            key = (frontend_pins(identifier.version), uv)
            if key not in installed:
                uv_arch = host_arch if uv else None
                installed[key] = ensure_frontend(
                    cache, key[0], pip=pip, environ=environ, log=log, uv_arch=uv_arch
                )
            chosen[identifier] = installed[key]
    return chosen


def build_wheels(
    selection: Selection,
    *,
    environment: Environment,
    source: ProjectSource,
    wheelhouse: Path,
    targets: TargetPolicies,
    settings: BuildSettings,
    plan: StagePlan,
    cache: CacheDirectory,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log_parent: Path,
    progress: Progress,
    host_arch: str,
    upload: UploadSettings | None = None,
    on_upload: Callable[[WheelUpload], None] | None = None,
) -> BuildRun:
    """Run every identifier of ``selection.build`` through its stages; the unavailable ones
    become outcomes with their reason. With ``upload``, the wheels then go to the index (all or
    nothing across the run; ``on_upload`` hears of each). A failure to prepare the environment
    or the frontend (a missing tool) raises :class:`~manywheel.ToolError` naming the log; a
    failed identifier does not, nor does an index that refuses (it is in the run)."""
    run = RunDirectory.create(log_parent)
    try:
        if selection.build:
            prepare_log = run.log("prepare")
            try:
                with prepare_log.open("wb") as log:
                    environment.prepare(selection.build, log)
                frontends = _frontends(
                    selection.build,
                    options=plan.options,
                    cache=cache,
                    pip=pip,
                    environ=environ,
                    run=run,
                    host_arch=host_arch,
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
                plan=plan,
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
    outcomes = tuple(sorted([*built, *missing], key=lambda o: o.identifier.sort_key))
    report, error = None, None
    if upload is not None:
        from manywheel.build.publishing import publish

        report, error = publish(outcomes, upload, on_result=on_upload)
    return BuildRun(
        outcomes, environment.name, source, wheelhouse, run.logs, upload=report, upload_error=error
    )
