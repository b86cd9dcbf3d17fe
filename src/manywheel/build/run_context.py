"""What the stages of a run share: the run's settings (:class:`BuildSettings`), what each
identifier's stages do (:class:`StagePlan`), the :class:`RunContext` they run in, the
:class:`Shell` their commands run through, and the :class:`StageFailure` a stage raises. The
stages themselves are :mod:`~manywheel.build.stages`; the scheduling is the runner's.
"""

from __future__ import annotations

import functools
import importlib
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from manywheel.build.assignments import EvaluationError
from manywheel.build.config import BuildOptions
from manywheel.build.environment import Environment, Session
from manywheel.build.frontend import Frontend
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.logs import RunDirectory
from manywheel.build.placeholders import fill_placeholders
from manywheel.build.repair_stage import InProcessRepair, RepairStep
from manywheel.build.results import BuildOutcome, Stage
from manywheel.build.reuse import ReuseBoard
from manywheel.build.source import ProjectSource, copy_tree
from manywheel.build.targets import TargetPolicies
from manywheel.build.variables import session_variables
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions
    from manywheel.build.check import CheckResult
    from manywheel.build.test_stage import TestStage
    from manywheel.build.testing import TestResult
    from manywheel.policy import PolicySet
    from manywheel.repair import RepairResult

__all__ = [
    "BuildSettings",
    "CheckSettings",
    "Progress",
    "RunContext",
    "Shell",
    "StageFailure",
    "StagePlan",
]


@value_class
class BuildSettings:
    """What is the same for every identifier of a run (the rest is each one's
    :class:`~manywheel.build.config.BuildOptions`)."""

    jobs: int = 2
    #: Seconds a single command may take (``None``: no limit).
    timeout: float | None = None
    #: Variables the frontend gets besides the session's (uv's index settings).
    frontend_env: Mapping[str, str] = field(default_factory=dict)
    #: The host's environment: ``environment-pass`` takes its values from here.
    host_environ: Mapping[str, str] = field(default_factory=dict)


@value_class
class CheckSettings:
    """The check before publishing: the audit's policies and options, as ``manywheel check``
    takes them; ``strict`` fails warnings too."""

    policies: PolicySet | Callable[[], PolicySet] | None = None
    #: The audit's options, or a function making them (called when a check first runs).
    audit: AuditOptions | Callable[[], AuditOptions] | None = None
    strict: bool = False


@value_class
class StagePlan:
    """What each identifier's stages do: its configured options (an identifier without an
    entry gets the defaults), its repair steps (default: its ``repair-wheel-command``'s
    commands run as commands; none: no repair), the check's settings, and where tests run
    (``None``: no test stage)."""

    options: Mapping[BuildIdentifier, BuildOptions] = field(default_factory=dict)
    repairs: Mapping[BuildIdentifier, tuple[RepairStep, ...]] = field(default_factory=dict)
    check: CheckSettings = field(default_factory=CheckSettings)
    tests: TestStage | None = None

    def warm(self) -> None:
        """Start making what the stages after a build need, on threads, so that it is ready
        when the build ends: the in-process repairs' settings (which import the repair) and
        the check's modules. Called as a build's frontend starts — not earlier, where the
        threads would hold the interpreter while the run's first commands are being started;
        a second call does nothing. Nothing depends on it: what is not ready is made when
        asked."""
        for steps in self.repairs.values():
            for step in steps:
                if isinstance(step, InProcessRepair):
                    step.settings.start()  # once: a source started already is not again
        _import_check_on_a_thread()


@functools.cache  # once per process (a second start would only find the modules loaded)
def _import_check_on_a_thread() -> None:
    check = "manywheel.build.check"
    threading.Thread(target=importlib.import_module, args=(check,), daemon=True).start()


class Progress(Protocol):
    """Told what happens, from the worker threads (implementations must be thread-safe)."""

    def stage(self, name: str, stage: Stage) -> None: ...

    def finished(self, outcome: BuildOutcome) -> None: ...

    def output(self, name: str, line: str) -> None:
        """A line of ``name``'s log as it is written (``build-verbosity`` >= 1)."""


@value_class
class RunContext:
    """Everything the stages of a run share."""

    environment: Environment
    source: ProjectSource
    wheelhouse: Path
    targets: TargetPolicies
    frontends: Mapping[BuildIdentifier, Frontend]
    settings: BuildSettings
    plan: StagePlan
    run: RunDirectory
    progress: Progress
    #: Which earlier wheel of the run each identifier may reuse (``None``: none is reused).
    reuse: ReuseBoard | None = None

    def prefix(self, target: str) -> Path:
        return self.run.scratch / "prefix" / target

    def projects(self) -> Path:
        """Where each target's project tree is kept once its before-all has run in it."""
        return self.run.scratch / "projects"

    def copy_project(self, dest: Path, target: str | None = None) -> Path:
        """A copy of the project for one build (or one before-all): of the tree ``target``'s
        before-all ran in, when it had one — what before-all generates in the project is
        there for the builds, as in cibuildwheel, where both run in the same directory."""
        tree = self.projects() / target if target is not None else self.source.tree
        if not tree.is_dir():
            tree = self.source.tree
        copy_tree(tree, dest, exclude=(self.wheelhouse, self.run.scratch))
        return dest

    def options_of(self, identifier: BuildIdentifier) -> BuildOptions:
        return self.plan.options.get(identifier) or BuildOptions(str(identifier))

    def shell(self, session: Session, cwd: Path, options: BuildOptions, log: BinaryIO) -> Shell:
        """A :class:`Shell` in ``session`` with the configured ``environment`` evaluated there
        (:func:`~manywheel.build.variables.session_variables`); a substitution that
        fails is a failure of the environment stage."""
        scratch = cwd.parent / "variables"  # in the workspace's scratch, which the session shares
        try:
            variables = session_variables(
                session,
                options.environment,
                passed=options.environment_pass,
                host=self.settings.host_environ,
                scratch=scratch,
                log=log,
                timeout=self.settings.timeout,
            )
        except EvaluationError as e:
            raise StageFailure(Stage.ENVIRONMENT, f"environment: {e.message}") from e
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Shell(session, cwd, log, variables, self.settings.timeout)


class StageFailure(Exception):
    """A stage failed; the identifier's outcome says so (nothing else fails with it)."""

    def __init__(
        self,
        stage: Stage,
        message: str,
        *,
        tail: tuple[str, ...] | None = None,
        test: TestResult | None = None,
        check: CheckResult | None = None,
        kept: Path | None = None,
        repair: RepairResult | None = None,
        reused_from: BuildIdentifier | None = None,
    ) -> None:
        super().__init__(message)
        self.reused_from = reused_from
        self.stage = stage
        self.tail = tail
        self.test = test
        self.check = check
        self.kept = kept
        self.repair = repair


@value_class
class Shell:
    """Commands in an open session from a host directory (the project's copy), with the
    configured environment's variables and the run's time limit."""

    session: Session
    cwd: Path
    log: BinaryIO
    variables: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None

    @property
    def places(self) -> dict[str, str]:
        """cibuildwheel's ``{project}`` and ``{package}``: the directory as seen inside."""
        inside = str(self.session.inside(self.cwd))
        return {"project": inside, "package": inside}

    def __call__(self, command: str, **places: str) -> int:
        """``sh -c COMMAND`` with ``{project}``, ``{package}`` and ``places`` filled in."""
        prepared = fill_placeholders(command, **{**self.places, **places})
        return self.session.run(
            ["sh", "-c", prepared],
            cwd=self.session.inside(self.cwd),
            env=self.variables,
            log=self.log,
            timeout=self.timeout,
        )
