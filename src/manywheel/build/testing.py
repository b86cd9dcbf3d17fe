"""The test stage: install a repaired wheel on a clean system that never saw the build, and run
the project's tests there, with cibuildwheel's settings and meanings.

For each wheel, :func:`test_wheel` picks the clean system (:class:`CleanSystems`: the oldest
Debian root the wheel's tag allows, the matching architecture's root under qemu, a musl root,
a free-threaded interpreter), unpacks a fresh copy, makes a venv there with its interpreter,
runs ``before-test`` from the project's directory, installs ``wheel[test-extras]`` and
``test-requires`` with pip (from the index the caller names: the local one for offline work),
copies ``test-sources`` from the project into an empty
directory and runs ``test-command`` from it (never from the project, so the source tree cannot
shadow the installed package), with ``{project}``, ``{package}`` and ``{wheel}`` replaced by
their paths inside. The project is visible read-only at ``/project``, as in cibuildwheel's
containers. The result says what happened, with the end of the output.
"""

from __future__ import annotations

import enum
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.placeholders import fill_placeholders
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_run import ROOT_PATH, Bind, inside, run_in_root
from manywheel.build.roots_systems import CleanSystem, CleanSystems, NoCleanSystemError
from manywheel.build.roots_venv import RootVenv, find_pip_wheel, make_venv
from manywheel.errors import ManywheelError
from manywheel.values import value_class

__all__ = [
    "WORKDIR",
    "TestResult",
    "TestSettings",
    "TestStatus",
    "base_environment",
    "format_test_command",
    "test_wheel",
]

PROJECT = PurePosixPath("/project")
WORKDIR = PurePosixPath("/tmp/manywheel-test")
_UNSUPPORTED = "is not a supported wheel on this platform"


class TestStatus(enum.Enum):
    """How far a wheel got on its clean system."""

    PASSED = "passed"  # installed, and the test command (if any) exited 0
    FAILED = "failed"  # installed, but the test command failed
    UNSUPPORTED = "unsupported"  # the system's pip refused the wheel's tags
    INSTALL_FAILED = "install-failed"  # pip failed otherwise (a dependency, a broken wheel)
    NO_SYSTEM = "no-system"  # no clean system here can run the wheel (the reason says why)

    __test__ = False  # not a pytest test class


@value_class
class TestSettings:
    """cibuildwheel's test options: ``test-command`` (``None``: only install), ``before-test``,
    ``test-requires``, ``test-extras``, ``test-sources`` (relative to the project),
    ``test-environment`` (evaluated already)."""

    command: str | None = None
    before_test: str | None = None
    requires: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = 1800
    tail_lines: int = 40

    __test__ = False


@value_class
class TestResult:
    """The outcome for one wheel: ``output`` holds the last lines of the step that decided it."""

    wheel: Path
    status: TestStatus
    system: str | None
    output: str
    returncode: int | None = None
    seconds: float = 0.0

    __test__ = False

    @property
    def ok(self) -> bool:
        return self.status is TestStatus.PASSED


def base_environment() -> dict[str, str]:
    """What a test's commands run with before ``test-environment``: the venv's ``bin`` first on
    ``PATH`` and ``VIRTUAL_ENV`` (evaluate ``test-environment`` against this, so that
    ``PATH="$PATH:/opt/x"`` keeps the venv first)."""
    venv = WORKDIR / "venv"
    return {"PATH": f"{venv / 'bin'}:{ROOT_PATH}", "VIRTUAL_ENV": str(venv)}


def format_test_command(command: str, *, project: str, package: str, wheel: str) -> str:
    """Replace cibuildwheel's ``{project}``, ``{package}`` and ``{wheel}`` (and nothing else:
    braces of the shell or of Python code stay as they are)."""
    return fill_placeholders(command, project=project, package=package, wheel=wheel)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


@value_class
class _Run:
    root: Path
    system: CleanSystem
    binds: tuple[Bind, ...]
    env: Mapping[str, str]
    settings: TestSettings
    log: BinaryIO | None

    def __call__(self, argv: Sequence[str], *, cwd: PurePosixPath) -> tuple[int, str]:
        if self.log is not None:
            self.log.write(f"$ {shlex.join(argv)}\n".encode())
        result = run_in_root(
            self.root,
            argv,
            binds=self.binds,
            env=self.env,
            cwd=str(cwd),
            timeout=self.settings.timeout,
        )
        output = result.stdout + result.stderr
        if self.log is not None:
            self.log.write(output.encode())
            self.log.flush()
        return result.returncode, output


def _pip_wheel(root: Path, system: CleanSystem) -> PurePosixPath:
    """The first pip wheel of the system's list: in the root, or in a host directory bound in
    (a host interpreter's own bundled pip)."""
    for directory in system.pip_wheel_dirs:
        found = find_pip_wheel(root, [directory])
        for bind in system.binds:
            if found is None and directory.is_relative_to(bind.inside):
                host = bind.source / directory.relative_to(bind.inside)
                wheels = sorted(host.glob("pip-*.whl"))
                found = directory / wheels[-1].name if wheels else None
        if found is not None:
            return found
    raise ManywheelError(f"no pip wheel for {system.python} in {system.description}")


def _copy_sources(project: Path, sources: Sequence[str], dest: Path) -> None:
    dest.mkdir(parents=True)
    base = project.resolve()
    for source in sources:
        path = (project / source).resolve()
        if not path.is_relative_to(base) or not path.exists():
            raise ManywheelError(f"test-sources: {source!r} is not a path in the project")
        target = dest / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, symlinks=True)
        else:
            shutil.copy2(path, target)


def _requirement(wheel: PurePosixPath, extras: Sequence[str]) -> str:
    return f"{wheel}[{','.join(extras)}]" if extras else str(wheel)


def _steps(
    run: _Run, wheel: Path, project: Path, package: Path | None, venv: RootVenv
) -> TestResult:
    settings = run.settings
    inside_wheel = WORKDIR / wheel.name
    relative = package.resolve().relative_to(project.resolve()) if package else None
    places = {
        "project": str(PROJECT),
        "package": str(PROJECT / relative) if relative else str(PROJECT),
        "wheel": str(inside_wheel),
    }
    if settings.before_test:
        before = format_test_command(settings.before_test, **places)
        code, output = run(["/bin/sh", "-c", before], cwd=PROJECT)
        if code != 0:
            tail = _tail(f"before-test exited with status {code}\n{output}", settings.tail_lines)
            return TestResult(wheel, TestStatus.FAILED, run.system.description, tail, code)
    pip = [*venv.pip(_pip_wheel(run.root, run.system)), "install", "--no-cache-dir"]
    pip += [_requirement(inside_wheel, settings.extras), *settings.requires]
    code, output = run(pip, cwd=WORKDIR)
    if code != 0:
        status = TestStatus.UNSUPPORTED if _UNSUPPORTED in output else TestStatus.INSTALL_FAILED
        return TestResult(wheel, status, run.system.description, _tail(output, 40), code)
    if settings.command is None:
        return TestResult(wheel, TestStatus.PASSED, run.system.description, _tail(output, 5), 0)
    command = format_test_command(settings.command, **places)
    code, output = run(["/bin/sh", "-c", command], cwd=WORKDIR / "test-cwd")
    status = TestStatus.PASSED if code == 0 else TestStatus.FAILED
    tail = _tail(output, settings.tail_lines)
    return TestResult(wheel, status, run.system.description, tail, code)


def test_wheel(
    wheel: Path,
    *,
    systems: CleanSystems,
    settings: TestSettings,
    project: Path,
    package: Path | None = None,
    identifier: BuildIdentifier | None = None,
    index: PackageIndex | None = None,
    log: BinaryIO | None = None,
) -> TestResult:
    """Test ``wheel`` on its clean system (see the module docstring); never raises for a wheel
    that fails, only for a machine that cannot make the system's root at all
    (:class:`~manywheel.build.UnavailableError`, :class:`~manywheel.ToolError`).

    ``project`` is the project directory (``{project}``, ``test-sources``), ``package`` the
    package's directory in it (``{package}``, default: the project), ``identifier`` the build's
    (it decides the Python of an abi3 wheel), ``index`` where pip finds ``test-requires`` and
    the wheel's dependencies, ``log`` gets every command and its whole output.
    """
    started = time.monotonic()
    try:
        system = systems.choose(wheel.name, identifier)
    except NoCleanSystemError as e:
        return TestResult(wheel, TestStatus.NO_SYSTEM, None, e.message)
    index = index or PackageIndex()
    with systems.store.scratch(system.spec, overlays=system.overlays) as root:
        work = inside(root, WORKDIR)
        work.mkdir(parents=True)
        shutil.copyfile(wheel, work / wheel.name)
        _copy_sources(project, settings.sources, work / "test-cwd")
        binds = (*system.binds, *index.binds(), Bind(project, PROJECT))
        venv = make_venv(root, WORKDIR / "venv", python=system.python, binds=binds)
        env = {
            **index.environment(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
            **base_environment(),
            **settings.environment,
        }
        run = _Run(root, system, binds, env, settings, log)
        result = _steps(run, wheel, project, package, venv)
    seconds = time.monotonic() - started
    return TestResult(
        result.wheel, result.status, result.system, result.output, result.returncode, seconds
    )


test_wheel.__test__ = False  # type: ignore[attr-defined]  # a library function, not a pytest test
