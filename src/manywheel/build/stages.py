"""The stages of one identifier, in order: copy the project, open the environment's session,
evaluate the configured ``environment`` there, ``before-build``, the PEP 517 build, the repair
(in-process, or the configured command), then — the session closed — the test on a clean
system and the check before publishing. Only a wheel that passed them all is renamed into the
wheelhouse; a wheel that failed its test or check is kept in the run's log directory.

Each identifier's options (:class:`~manywheel.build.config.BuildOptions`) come from the
configuration, overrides applied; the scheduling (threads, before-all) is the runner's.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from manywheel.build.config import BuildOptions
from manywheel.build.environment import Session, Workspace
from manywheel.build.frontend import FRONTENDS, verbosity_flags, wheel_command
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import LogFollower, log_tail
from manywheel.build.repair_command import split_repair_command
from manywheel.build.repair_stage import (
    CommandRepair,
    InProcessRepair,
    RepairFailedError,
    RepairStep,
    repair_built,
)
from manywheel.build.results import BuildOutcome, Stage, Status
from manywheel.build.run_context import (
    RunContext,
    Shell,
    StageFailure,
)
from manywheel.errors import ManywheelError
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.build.check import CheckResult
    from manywheel.build.testing import TestResult
    from manywheel.repair import RepairResult

__all__ = ["build_one", "failed"]


@value_class
class _Job:
    """One identifier's stages."""

    ctx: RunContext
    identifier: BuildIdentifier
    options: BuildOptions
    log: BinaryIO

    def stage(self, stage: Stage) -> None:
        self.ctx.progress.stage(str(self.identifier), stage)

    def config_settings(self, session: Session) -> list[str]:
        settings = [f"{key}={value}" for key, value in self.options.config_settings]
        native = session.meson_native_file
        if native is not None and self.ctx.source.backend == "mesonpy":
            settings.append(f"setup-args=--native-file={native}")
        return settings

    def frontend_build(self, shell: Shell, out: Path) -> Path:
        session = shell.session
        frontend = self.ctx.frontends[self.identifier]
        option = self.options.build_frontend  # pip's or uv's own args mean nothing to build
        extra = [*(option.args if option is not None and option.name in FRONTENDS else ())]
        flags = verbosity_flags(self.options.build_verbosity)
        if flags and flags[0].startswith("-q") and not frontend.quiet:
            note = f"manywheel: build-verbosity: pypa/build {frontend.pins[0]} has no -q\n"
            self.log.write(note.encode())
            flags = []
        extra += flags
        argv = wheel_command(
            session.python,
            session.inside(frontend.directory),
            session.inside(shell.cwd),
            session.inside(out),
            self.config_settings(session),
            uv=frontend.uv,
            extra=extra,
        )
        # The frontend's own modules are cached bytecode once each interpreter has compiled
        # them (a user's PYTHONDONTWRITEBYTECODE would make every build compile them again).
        env = {"PYTHONDONTWRITEBYTECODE": "", **self.ctx.settings.frontend_env, **shell.variables}
        if frontend.uv:  # uv's cache in the build's scratch: writable in every environment
            uv_cache = session.inside(out.parent / "uv-cache")
            env.update(UV_CACHE_DIR=str(uv_cache), UV_LINK_MODE="copy", UV_PYTHON_DOWNLOADS="never")
        self.stage(Stage.BUILD)
        self.ctx.plan.warm()  # the repair's and the check's imports, while the frontend runs
        code = session.run(
            argv, cwd=session.inside(shell.cwd), env=env, log=self.log, timeout=shell.timeout
        )
        if code != 0:
            raise StageFailure(Stage.BUILD, f"the PEP 517 build failed (exit status {code})")
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            raise StageFailure(Stage.BUILD, f"the frontend wrote {len(wheels)} wheels, not one")
        return wheels[0]

    def repair_in_process(self, shell: Shell, step: InProcessRepair, built: Path) -> RepairResult:
        session = shell.session
        plat = (
            step.plat
            or session.variables.get("AUDITWHEEL_PLAT")
            or self.ctx.targets.platform_tag(self.identifier)
        )
        dest = built.parent.parent / "repaired"
        try:
            settings = step.settings.get()
            return repair_built(
                built, dest, settings=settings, system=session.audit_options(), plat=plat,
                log=self.log,
            )  # fmt: skip
        except RepairFailedError as e:
            raise StageFailure(Stage.REPAIR, e.message) from e
        except ManywheelError as e:
            raise StageFailure(Stage.REPAIR, f"repair: {e}") from e

    def repair(
        self, shell: Shell, steps: Sequence[RepairStep], built: Path, staging: Path
    ) -> tuple[Path, RepairResult | None]:
        """Run the repair's steps in order (manywheel's repair in-process, other commands in
        the session) into ``{dest_dir}``, then move the one wheel there to ``staging``; no
        steps: the built wheel as it is. The wheel, and the in-process repair's result."""
        self.stage(Stage.REPAIR)
        if not steps:
            self.log.write(b"manywheel: no repair-wheel-command: the wheel goes on as built\n")
            return Path(shutil.move(built, staging / built.name)), None
        dest = built.parent.parent / "repaired"
        dest.mkdir()
        places = {
            "wheel": str(shell.session.inside(built)),
            "dest_dir": str(shell.session.inside(dest)),
        }
        result = None
        for step in steps:
            if isinstance(step, InProcessRepair):
                result = self.repair_in_process(shell, step, built)
                continue
            self.log.write(f"manywheel: repair-wheel-command: {step.command}\n".encode())
            code = shell(step.command, **places)
            if code != 0:
                raise StageFailure(Stage.REPAIR, f"{step.command!r} exited with status {code}")
        wheels = sorted(dest.glob("*.whl"))
        if len(wheels) != 1:
            names = f" ({', '.join(w.name for w in wheels)})" if wheels else ""
            message = f"the repair wrote {len(wheels)} wheels to {{dest_dir}}, not one{names}"
            raise StageFailure(Stage.REPAIR, message)
        return Path(shutil.move(wheels[0], staging / wheels[0].name)), result

    def test_and_check(self, wheel: Path) -> tuple[TestResult | None, CheckResult]:
        """Test ``wheel`` on its clean system (when configured), then check it; a failure
        raises :class:`StageFailure` with the wheel kept in the run's logs."""
        from manywheel.build.check import check_wheel

        result = None
        tests = self.ctx.plan.tests
        if tests is not None and self.options.run_tests:
            self.stage(Stage.TEST)
            result = tests.run(wheel, self.identifier, self.options, self.log)
            self.log.write(f"manywheel: test took {result.seconds:.2f} s\n".encode())
            if not result.ok:
                from manywheel.build.test_stage import failed_test

                message, tail = failed_test(result)
                kept = self.keep(wheel)
                raise StageFailure(Stage.TEST, message, tail=tail, test=result, kept=kept)
        self.stage(Stage.CHECK)
        settings = self.ctx.plan.check
        started = time.monotonic()
        audit = settings.audit() if callable(settings.audit) else settings.audit
        check = check_wheel(wheel, policies=settings.policies, audit_options=audit)
        took = time.monotonic() - started
        self.log.write(f"manywheel: check took {took:.2f} s\n".encode())
        for warning in check.warnings:
            self.log.write(f"manywheel: check: warning: {warning}\n".encode())
        if not check.passed(strict=settings.strict):
            raise self.check_failure(check, result, wheel)
        return result, check

    def check_failure(
        self, check: CheckResult, test: TestResult | None, wheel: Path
    ) -> StageFailure:
        lines = tuple(f"{p.kind.value}: {p}" for p in check.problems)
        if check.error is not None:
            lines = (f"cannot be read: {check.error}",)
        lines = lines or tuple(f"warning: {w}" for w in check.warnings)
        for line in lines:
            self.log.write(f"manywheel: check: {line}\n".encode())
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        message = f"the wheel failed its check: {lines[0]}{more}"
        kept = self.keep(wheel)
        return StageFailure(Stage.CHECK, message, tail=lines, test=test, check=check, kept=kept)

    def keep(self, wheel: Path) -> Path:
        """Move a wheel that failed its test or check to ``<logs>/wheels/`` (to look at)."""
        kept = self.ctx.run.logs / "wheels"
        kept.mkdir(exist_ok=True)
        return Path(shutil.move(wheel, kept / wheel.name))

    def steps(self) -> tuple[RepairStep, ...]:
        steps = self.ctx.plan.repairs.get(self.identifier)
        if steps is None:
            parts = split_repair_command(self.options.repair_command)
            steps = tuple(CommandRepair(p.text) for p in parts)
        return steps

    def reusable(self, *, wait: bool) -> BuildOutcome | bool | None:
        """The earlier outcome whose wheel this identifier reuses, ``None`` to keep its own,
        ``False``: not known yet (see :meth:`ReuseBoard.choose`)."""
        board = self.ctx.reuse
        if board is None:
            return None
        choice = board.choose(self.identifier, wait=wait)
        if isinstance(choice, BuildOutcome):
            board.repaired(self.identifier, None)
        return choice

    def reuse(self, source: BuildOutcome) -> _Built:
        """Test ``source``'s wheel (in the wheelhouse, tested and checked there already) with
        this identifier's Python; a failure leaves it where it is and fails this identifier."""
        assert source.wheel is not None
        wheel, name = source.wheel, source.wheel.name
        line = f"manywheel: {name}, built by {source.identifier}, is compatible: not built again\n"
        self.log.write(line.encode())
        result = None
        tests = self.ctx.plan.tests
        if tests is not None and self.options.run_tests:
            self.stage(Stage.TEST)
            result = tests.run(wheel, self.identifier, self.options, self.log)
            if not result.ok:
                from manywheel.build.test_stage import failed_test

                message, tail = failed_test(result)
                message = f"{message} ({source.identifier}'s wheel, reused)"
                raise StageFailure(
                    Stage.TEST, message, tail=tail, test=result, reused_from=source.identifier
                )
        # the same file: its repair (tag, grafts) and check are the ones it had when built
        repair, check, built_by = source.repair, source.check, source.identifier
        return _Built(wheel, None, repair, result, check, reused_from=built_by)

    def run(self) -> _Built:
        """Reuse an earlier identifier's wheel, or build, repair, test and check this one's.
        Undecided at the start, the build runs meanwhile; whatever happens to it, the choice
        is then made (waiting for the earlier ones) as a run oldest Python first makes it."""
        choice = self.reusable(wait=False)
        if isinstance(choice, BuildOutcome):
            return self.reuse(choice)
        try:
            return self.own(decided=choice is None)
        except _Reused as reused:
            return self.reuse(reused.source)
        except Exception:
            if choice is not False:
                raise
            late = self.reusable(wait=True)  # the same answer when the build was kept
            if not isinstance(late, BuildOutcome):
                raise
            self.log.write(b"manywheel: the failure above does not count: not built again\n")
            return self.reuse(late)

    def own(self, *, decided: bool) -> _Built:
        """This identifier's own wheel (``decided``: known not to reuse one; else the choice
        is made after the build, and :class:`_Reused` says to reuse one)."""
        ctx, identifier = self.ctx, self.identifier
        scratch = ctx.run.scratch / "builds" / str(identifier)
        out = scratch / "dist"
        out.mkdir(parents=True)
        staging = Path(tempfile.mkdtemp(prefix=".manywheel-", dir=ctx.wheelhouse))
        repair: RepairResult | None = None
        try:
            started = time.monotonic()
            target = ctx.environment.target(identifier)
            project = ctx.copy_project(scratch / "project", target)
            took = time.monotonic() - started
            self.log.write(f"manywheel: project copied in {took:.2f} s\n".encode())
            tools = (ctx.frontends[identifier].directory,)
            workspace = Workspace(scratch, ctx.prefix(target), tools=tools)
            self.stage(Stage.ENVIRONMENT)
            with ctx.environment.open(identifier, workspace, self.log) as session:
                shell = ctx.shell(session, project, self.options, self.log)
                if self.options.before_build:
                    self.stage(Stage.BEFORE_BUILD)
                    code = shell(self.options.before_build)
                    if code != 0:
                        message = f"before-build exited with status {code}"
                        raise StageFailure(Stage.BEFORE_BUILD, message)
                built = self.frontend_build(shell, out)
                if not decided:  # built while earlier ones ran: may reuse theirs after all
                    source = self.reusable(wait=True)
                    if isinstance(source, BuildOutcome):
                        line = f"manywheel: {built.name} built meanwhile, discarded\n"
                        self.log.write(line.encode())
                        raise _Reused(source)
                started = time.monotonic()
                wheel, repair = self.repair(shell, self.steps(), built, staging)
                took = time.monotonic() - started
                self.log.write(f"manywheel: repair took {took:.2f} s\n".encode())
                if ctx.reuse is not None:
                    ctx.reuse.repaired(identifier, wheel.name)
            try:
                test, check = self.test_and_check(wheel)
            except StageFailure as failure:
                failure.repair = repair
                raise
            final = ctx.wheelhouse / wheel.name
            wheel.replace(final)
            return _Built(final, built.name, repair, test, check)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)


class _Reused(Exception):
    """Out of :meth:`_Job.own`'s session: reuse ``source``'s wheel instead."""

    def __init__(self, source: BuildOutcome) -> None:
        super().__init__(str(source.identifier))
        self.source = source


@value_class
class _Built:
    wheel: Path
    #: The file name the frontend wrote.
    built: str | None
    repair: RepairResult | None
    test: TestResult | None
    check: CheckResult | None
    reused_from: BuildIdentifier | None = None


def build_one(ctx: RunContext, identifier: BuildIdentifier) -> BuildOutcome:
    """Every stage of ``identifier``; never raises for a failure (a bug included: the others
    go on), only for an interruption. The run's :class:`ReuseBoard` hears of the outcome."""
    outcome = _build_one(ctx, identifier)
    if ctx.reuse is not None:
        ctx.reuse.finished(outcome)
    return outcome


def _build_one(ctx: RunContext, identifier: BuildIdentifier) -> BuildOutcome:
    started = time.monotonic()
    path = ctx.run.log(str(identifier))
    options = ctx.options_of(identifier)
    skipped = bool(options.test_command.strip()) and not options.run_tests
    name = str(identifier)
    follow = options.build_verbosity >= 1  # cibuildwheel shows the build's output: so do we
    with ExitStack() as stack, path.open("wb") as log:  # closed (flushed) before the last lines
        if follow:
            stack.enter_context(LogFollower(path, lambda line: ctx.progress.output(name, line)))
        try:
            built = _Job(ctx, identifier, options, log).run()
        except StageFailure as failure:
            log.write(f"manywheel: {failure.stage.value} failed: {failure}\n".encode())
            log.flush()
            return replace(
                failed(identifier, failure.stage, str(failure), path, time.monotonic() - started),
                log_tail=failure.tail if failure.tail is not None else log_tail(path),
                test=failure.test,
                check=failure.check,
                kept=failure.kept,
                repair=failure.repair,
                reused_from=failure.reused_from,
            )
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
                wheel=built.wheel,
                built_wheel=built.built,
                size=built.wheel.stat().st_size,
                log=path,
                repair=built.repair,
                test=built.test,
                test_skipped=skipped,
                check=built.check,
                reused_from=built.reused_from,
            )
        log.write(f"manywheel: {stage.value} failed: {error}\n".encode())
    return failed(identifier, stage, error, path, time.monotonic() - started)


def failed(
    identifier: BuildIdentifier, stage: Stage, error: str, log: Path | None, seconds: float = 0.0
) -> BuildOutcome:
    """A failed outcome with the log's last lines."""
    tail = log_tail(log) if log is not None else ()
    return BuildOutcome(
        identifier, Status.FAILED, seconds, stage=stage, error=error, log=log, log_tail=tail
    )
