"""The test stage of a build: each repaired wheel tested on its clean system
(:func:`~manywheel.build.testing.test_wheel`) with the identifier's configured test options —
``test-command``, ``before-test``, ``test-requires`` (and ``test-groups``), ``test-extras``,
``test-sources``, ``test-environment`` — in cibuildwheel's meanings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import BinaryIO

from manywheel.build.assignments import EvaluationError, local_runner
from manywheel.build.config import BuildOptions
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_systems import CleanSystems
from manywheel.build.testing import (
    TestResult,
    TestSettings,
    TestStatus,
    base_environment,
    test_wheel,
)
from manywheel.errors import ManywheelError
from manywheel.values import value_class

__all__ = ["TestStage", "failed_test", "test_settings"]

#: Lines of a failed test's output kept for the summary.
TAIL_LINES = 20


def test_settings(options: BuildOptions, *, timeout: float | None = None) -> TestSettings:
    """An identifier's test options as :class:`TestSettings`; ``test-environment`` is evaluated
    against the test's own base environment (the venv first on ``PATH``), its ``$(...)`` on
    this machine."""
    base = base_environment()
    evaluated = options.test_environment.evaluate(base, local_runner())
    changed = {k: v for k, v in evaluated.items() if base.get(k) != v}
    return TestSettings(
        command=options.test_command or None,
        before_test=options.before_test or None,
        requires=options.test_requires,
        extras=options.test_extras,
        sources=options.test_sources,
        environment=changed,
        **({"timeout": timeout} if timeout is not None else {}),
        tail_lines=TAIL_LINES,
    )


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@value_class
class TestStage:
    """Where and how a run tests its wheels: the clean systems (made through a root store),
    the project (``{project}``, ``test-sources``, bound read-only at ``/project``), the index
    pip uses inside."""

    systems: CleanSystems
    project: Path
    index: PackageIndex = field(default_factory=PackageIndex)
    timeout: float | None = None

    __test__ = False

    def run(
        self, wheel: Path, identifier: BuildIdentifier, options: BuildOptions, log: BinaryIO
    ) -> TestResult:
        """Test ``wheel``; a test that cannot run at all (no clean system can be made here)
        is a failed result saying why, never an exception."""
        log.write(f"manywheel: testing {wheel.name} on a clean system\n".encode())
        try:
            settings = test_settings(options, timeout=self.timeout)
            result = test_wheel(
                wheel,
                systems=self.systems,
                settings=settings,
                project=self.project,
                identifier=identifier,
                index=self.index,
                log=log,
            )
        except EvaluationError as e:
            return TestResult(wheel, TestStatus.FAILED, None, f"test-environment: {e.message}")
        except ManywheelError as e:
            return TestResult(wheel, TestStatus.NO_SYSTEM, None, f"cannot test here: {e}")
        log.write(f"manywheel: test {result.status.value} on {result.system}\n".encode())
        return result


def failed_test(result: TestResult) -> tuple[str, tuple[str, ...]]:
    """One line for a wheel whose test did not pass, and the last lines of the output."""
    where = f" on {result.system}" if result.system else ""
    status = f" (exit status {result.returncode})" if result.returncode else ""
    messages: Mapping[TestStatus, str] = {
        TestStatus.FAILED: f"the test failed{where}{status}",
        TestStatus.UNSUPPORTED: f"pip refused the wheel's tags{where}",
        TestStatus.INSTALL_FAILED: f"the wheel or its test requirements did not install{where}",
        TestStatus.NO_SYSTEM: "no clean system to test it on",
    }
    tail = tuple(line for line in result.output.splitlines() if line.strip())[-TAIL_LINES:]
    if result.status is TestStatus.NO_SYSTEM:
        return f"{messages[result.status]}: {result.output}", ()
    return messages.get(result.status, f"the test {result.status.value}{where}"), tail
