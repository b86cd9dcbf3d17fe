"""Run the stages for every selected identifier: before-all once per target (with the options
of the target's first identifier, as cibuildwheel does), then per identifier the stages of
:mod:`~manywheel.build.stages` (build, repair, test, check), on ``jobs`` threads (each stage is
a subprocess, so builds of independent identifiers overlap on every core). An identifier
that may use an earlier identifier's wheel (``cp311-abi3`` for ``cp312``) only tests it, as in
cibuildwheel; :mod:`~manywheel.build.reuse` keeps that choice independent of ``jobs``.

A failed identifier leaves nothing in the wheelhouse; the others go on. A repaired wheel is
written to a staging directory inside the wheelhouse and renamed into place only once it has
passed its test and check, so the wheelhouse never holds a partial, unrepaired or unproven
wheel, even when the run is interrupted.
"""

from __future__ import annotations

import shutil
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from manywheel.build.environment import Environment, Workspace
from manywheel.build.frontend import Frontend
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import RunDirectory
from manywheel.build.results import BuildOutcome, Stage
from manywheel.build.reuse import ReuseBoard
from manywheel.build.run_context import (
    BuildSettings,
    CheckSettings,
    Progress,
    RunContext,
    StageFailure,
    StagePlan,
)
from manywheel.build.source import ProjectSource
from manywheel.build.stages import build_one, failed
from manywheel.build.targets import TargetPolicies
from manywheel.errors import ManywheelError

__all__ = ["BuildSettings", "CheckSettings", "Progress", "StagePlan", "run_builds"]


def _before_all(ctx: RunContext, target: str, identifier: BuildIdentifier) -> str | None:
    """Run before-all for ``target`` in a session of its first identifier, in a copy of the
    project the target's builds then copy theirs from; the error or None."""
    options = ctx.options_of(identifier)
    ctx.progress.stage(f"before-all {target}", Stage.BEFORE_ALL)
    scratch = ctx.run.scratch / f"before-all-{target}"
    scratch.mkdir(parents=True)
    workspace = Workspace(scratch, ctx.prefix(target))
    with ctx.run.log(f"before-all-{target}").open("wb") as log:
        try:
            project = ctx.copy_project(scratch / "project")
            with ctx.environment.open(identifier, workspace, log) as session:
                code = ctx.shell(session, project, options, log)(options.before_all)
            if code == 0:
                ctx.projects().mkdir(exist_ok=True)
                shutil.move(project, ctx.projects() / target)
        except StageFailure as e:
            log.write(f"manywheel: {e}\n".encode())
            return str(e)
        except (ManywheelError, OSError) as e:
            log.write(f"manywheel: {e}\n".encode())
            return f"before-all could not run: {e}"
        except Exception as e:  # a bug: this target fails, the others go on
            log.write(traceback.format_exc().encode())
            return f"before-all: internal error: {type(e).__name__}: {e}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return None if code == 0 else f"before-all exited with status {code}"


def _groups(
    environment: Environment, identifiers: Sequence[BuildIdentifier]
) -> dict[str, list[BuildIdentifier]]:
    groups: dict[str, list[BuildIdentifier]] = {}
    for identifier in sorted(identifiers):  # oldest Python first: the order reuse follows
        groups.setdefault(environment.target(identifier), []).append(identifier)
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
    plan: StagePlan,
    run: RunDirectory,
    progress: Progress,
) -> list[BuildOutcome]:
    """Build, repair, test, check and write every identifier; one outcome each, in the
    identifiers' order. ``environment.prepare`` must have run. An in-process repair's settings
    may be made by a function: it is called once, on a thread, while the first build runs
    (:meth:`~manywheel.build.run_context.StagePlan.warm`)."""
    groups = _groups(environment, identifiers)
    board = ReuseBoard(groups.values())
    ctx = RunContext(
        environment, source, wheelhouse, targets, frontends, settings, plan, run, progress, board
    )
    outcomes: dict[BuildIdentifier, BuildOutcome] = {}

    def record(outcome: BuildOutcome) -> None:
        outcomes[outcome.identifier] = outcome
        board.finished(outcome)
        progress.finished(outcome)

    for target in groups:
        ctx.prefix(target).mkdir(parents=True)
    pending: dict[Future[object], tuple[str, str | BuildIdentifier]] = {}
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:

        def submit(
            fn: Callable[..., object], *args: object, key: tuple[str, str | BuildIdentifier]
        ) -> None:
            pending[pool.submit(fn, ctx, *args)] = key

        for target, members in groups.items():
            if ctx.options_of(members[0]).before_all:
                submit(_before_all, target, members[0], key=("before-all", target))
            else:
                for identifier in members:
                    submit(build_one, identifier, key=("build", identifier))
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
                            submit(build_one, identifier, key=("build", identifier))
                        else:
                            log = run.log(f"before-all-{key}")
                            record(failed(identifier, Stage.BEFORE_ALL, str(error), log))
        except BaseException:
            for future in pending:
                future.cancel()
            board.abandon()  # a build waiting for a cancelled one must not hold up the exit
            raise
    return [outcomes[i] for i in identifiers]
