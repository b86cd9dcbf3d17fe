"""What a build run produces: one :class:`BuildOutcome` per identifier, whatever happened: the
repaired wheel, its test on a clean system, its check before publishing, and where it failed."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.build.identifiers import BuildIdentifier
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.build.check import CheckResult
    from manywheel.build.testing import TestResult
    from manywheel.repair import RepairResult

__all__ = ["BuildOutcome", "Stage", "Status"]


class Status(enum.Enum):
    #: Built, repaired, tested (when configured), checked and written to the wheelhouse.
    BUILT = "built"
    #: A stage failed; nothing of this identifier is in the wheelhouse.
    FAILED = "failed"
    #: Asked for by name, but the environment cannot build it here (no interpreter, ...).
    UNAVAILABLE = "unavailable"


class Stage(enum.Enum):
    """Where a build was when it failed (or is now, for progress)."""

    ENVIRONMENT = "environment"
    BEFORE_ALL = "before-all"
    BEFORE_BUILD = "before-build"
    BUILD = "build"
    REPAIR = "repair"
    #: The repaired wheel's test on a clean system.
    TEST = "test"
    #: The check before publishing (container, metadata, description, tags, Python ABI).
    CHECK = "check"


@value_class
class BuildOutcome:
    identifier: BuildIdentifier
    status: Status
    seconds: float = 0.0
    #: The repaired wheel in the wheelhouse.
    wheel: Path | None = None
    #: The wheel the frontend built, before repair (its file name).
    built_wheel: str | None = None
    size: int | None = None
    #: The stage that failed, for a failure.
    stage: Stage | None = None
    #: One line: why it failed or is unavailable.
    error: str | None = None
    log: Path | None = None
    #: The last lines of the log, for a failure.
    log_tail: tuple[str, ...] = ()
    #: The in-process repair (``None`` for a repair-wheel-command run as a command).
    repair: RepairResult | None = None
    #: The test on a clean system (``None``: not tested — no test-command, or test-skip).
    test: TestResult | None = None
    #: A test-command is configured but ``test-skip`` matched the identifier.
    test_skipped: bool = False
    #: The check of the repaired wheel (``None``: the wheel did not get that far).
    check: CheckResult | None = None
    #: For a wheel that failed its test or check: where it was kept (in the run's logs).
    kept: Path | None = None
    #: The earlier identifier of this run whose wheel this one reused (an ``abi3`` wheel, as
    #: cibuildwheel reuses it): not built again, only tested with this identifier's Python.
    reused_from: BuildIdentifier | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.BUILT

    @property
    def tags(self) -> tuple[str, ...]:
        """The repaired wheel's platform tags (``manylinux_2_12_x86_64``, ...)."""
        wheel = self.wheel or self.kept
        if wheel is None:
            return ()
        return tuple(wheel.name.removesuffix(".whl").rsplit("-", 1)[-1].split("."))

    @property
    def tag(self) -> str | None:
        """The best tag the repair gave it (``manylinux_2_12_x86_64``)."""
        plan = self.repair.plan if self.repair is not None else None
        if plan is not None:
            return plan.target.tag
        return self.tags[0] if self.tags else None
