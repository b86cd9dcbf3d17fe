"""The test stage: what a wheel needs of a system, which clean system it gets, and real runs in
clean roots: placeholders, test-sources and a working directory outside the project, test
requirements from the local index, failures with their output, a library the clean root lacks
(the loader's message), and an aarch64 wheel under qemu."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from manywheel.audit import AuditOptions
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots import RootSpec, RootStore
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_systems import CleanSystems, NoCleanSystemError, wheel_target
from manywheel.build.testing import TestSettings, TestStatus, format_test_command, test_wheel
from manywheel.repair import PatchelfPatcher, RepairOptions, RepairRequest, repair_wheel
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.extensions import build_extension_wheel, module_source, write_wheel
from tests.harness.fixtures import SdistWheelBuilder
from tests.harness.sdists import HostPython, find_python

LOCAL_INDEX = Path("/opt/pypi/simple")


def test_placeholders_are_replaced_and_other_braces_kept() -> None:
    command = "pytest {project}/tests && python -c 'print({1: 2})' && ls ${HOME} {package} {wheel}"
    assert format_test_command(command, project="/p", package="/p/pkg", wheel="/w/x.whl") == (
        "pytest /p/tests && python -c 'print({1: 2})' && ls ${HOME} /p/pkg /w/x.whl"
    )


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("a-1-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", ((3, 9), "glibc", 2, 17)),
        ("a-1-cp311-cp311-manylinux1_x86_64.whl", ((3, 11), "glibc", 2, 5)),
        ("a-1-cp313-cp313t-musllinux_1_2_aarch64.whl", ((3, 13), "musl", 1, 2)),
        ("a-1-cp38-abi3-manylinux_2_28_aarch64.whl", ((3, 8), "glibc", 2, 28)),
        ("a-1-cp311-cp311-linux_x86_64.whl", ((3, 11), "glibc", 0, 0)),
        ("a-1-py3-none-any.whl", (None, "glibc", 0, 0)),
    ],
    ids=["manylinux2014", "manylinux1", "musl-t", "abi3", "linux", "pure"],
)
def test_what_a_wheel_needs(filename: str, expected: tuple[object, ...]) -> None:
    target = wheel_target(filename)
    version, libc, major, minor = expected
    assert (target.version, target.libc, target.libc_version) == (version, libc, (major, minor))
    assert target.free_threaded is ("cp313t" in filename)
    assert target.minimum is ("abi3" in filename or "none" in filename)


def test_the_identifier_decides_an_abi3_wheels_python() -> None:
    identifier = BuildIdentifier.parse("cp312-manylinux_aarch64")
    target = wheel_target("a-1-cp38-abi3-manylinux_2_17_aarch64.whl", identifier)
    assert (target.version, target.minimum, target.arch) == ((3, 12), False, "aarch64")


def test_not_a_wheel_name() -> None:
    with pytest.raises(ValueError, match="not a wheel filename"):
        wheel_target("setup.py")


def _systems(tmp_path: Path, **host: str) -> CleanSystems:
    store = RootStore(CacheDirectory(tmp_path), native_arch="amd64")
    pythons = {v: Path(f"/root/.pyenv/versions/{p}") for v, p in host.items()}
    return CleanSystems(store, host_pythons=pythons, build_interpreters=False)


@pytest.mark.parametrize(
    ("filename", "spec", "python"),
    [
        ("a-1-cp39-cp39-manylinux_2_17_x86_64.whl", RootSpec("bullseye"), "python3.9"),
        ("a-1-cp311-cp311-manylinux_2_17_x86_64.whl", RootSpec("bookworm"), "python3.11"),
        ("a-1-cp311-cp311-manylinux_2_17_aarch64.whl", RootSpec("bookworm", "arm64"), None),
        ("a-1-cp38-abi3-manylinux_2_17_x86_64.whl", RootSpec("bullseye"), "python3.9"),
        ("a-1-py3-none-any.whl", RootSpec("bullseye"), "python3.9"),
        (
            "a-1-cp314-cp314-manylinux_2_17_x86_64.whl",
            RootSpec("sid", packages=("python3.14-venv",)),
            "python3.14",
        ),
    ],
    ids=["cp39", "cp311", "aarch64", "abi3", "pure", "cp314-sid"],
)
def test_the_oldest_suite_with_the_python(
    tmp_path: Path, filename: str, spec: RootSpec | None, python: str | None
) -> None:
    system = _systems(tmp_path).choose(filename)
    assert system.spec == spec
    assert system.python == (python or "python3.11")


@pytest.mark.slow
def test_a_host_interpreter_where_no_suite_has_the_version(tmp_path: Path) -> None:
    python = _python("3.10")
    prefix = Path(python.executable).resolve().parent.parent
    store = RootStore(CacheDirectory(tmp_path), native_arch="amd64")
    systems = CleanSystems(store, host_pythons={"3.10": prefix}, build_interpreters=False)
    system = systems.choose("a-1-cp310-cp310-manylinux_2_17_x86_64.whl")
    # pyenv's build on this glibc 2.36 machine needs GLIBC_2.35: not bullseye, bookworm.
    assert system.spec == RootSpec("bookworm")
    assert system.python == f"{prefix}/bin/python3.10"
    assert system.binds[0].source == prefix


def test_no_system_says_why(tmp_path: Path) -> None:
    systems = _systems(tmp_path)
    with pytest.raises(NoCleanSystemError, match=r"no CPython 3\.12 on glibc >= 2\.17 for amd64"):
        systems.choose("a-1-cp312-cp312-manylinux_2_17_x86_64.whl")
    # bullseye's glibc is too old for the tag, and no later suite ships 3.9
    with pytest.raises(NoCleanSystemError, match=r"no CPython 3\.9 on glibc >= 2\.34"):
        systems.choose("a-1-cp39-cp39-manylinux_2_34_x86_64.whl")
    off = r"cpython-3\.11-musl-bookworm-amd64 is not built \(building interpreters is off\)"
    with pytest.raises(NoCleanSystemError, match=off):
        systems.choose("a-1-cp311-cp311-musllinux_1_2_x86_64.whl")
    with pytest.raises(NoCleanSystemError, match=r"no musl CPython 3\.10 for amd64"):
        systems.choose("a-1-cp310-cp310-musllinux_1_2_x86_64.whl")


def _python(version: str) -> HostPython:
    try:
        return find_python(version)
    except Unavailable as e:
        skip_or_fail(str(e))


@pytest.fixture(scope="module")
def python39() -> HostPython:
    return _python("3.9")


@pytest.fixture(scope="module")
def index() -> PackageIndex:
    """The machine's local index, offline; PyPI where there is none."""
    if LOCAL_INDEX.is_dir():
        return PackageIndex(index_url=LOCAL_INDEX.as_uri())
    return PackageIndex()


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests/test_plain.py").write_text("import plain, six\nprint('test ran', six.PY3)\n")
    # A module of the same name in the project: the test must not import it.
    (project / "plain.py").write_text("raise ImportError('the source tree shadowed the wheel')\n")
    return project


@pytest.mark.root
@pytest.mark.slow
def test_a_passing_test_runs_outside_the_project(
    root_store: RootStore, python39: HostPython, index: PackageIndex, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    wheel = build_extension_wheel(
        tmp_path, python39, "plain", module_source("plain"), platform_tag="manylinux_2_17_x86_64"
    )
    settings = TestSettings(
        command="python tests/test_plain.py && pwd && ls {project}/tests && echo {wheel}",
        requires=("six",),
        sources=("tests",),
    )
    result = test_wheel(
        wheel, systems=CleanSystems(root_store), settings=settings, project=project, index=index
    )
    assert result.status is TestStatus.PASSED, result.output
    assert result.system == "Debian bullseye amd64, CPython 3.9"
    assert result.output.splitlines()[-4:] == [
        "test ran True",
        "/tmp/manywheel-test/test-cwd",
        "test_plain.py",
        f"/tmp/manywheel-test/{wheel.name}",
    ]


@pytest.mark.root
@pytest.mark.slow
def test_a_failing_test_gives_its_last_lines(
    root_store: RootStore, python39: HostPython, tmp_path: Path
) -> None:
    wheel = build_extension_wheel(
        tmp_path, python39, "plain", module_source("plain"), platform_tag="manylinux_2_17_x86_64"
    )
    command = "for i in $(seq 1 100); do echo line $i; done; echo broken >&2; exit 3"
    settings = TestSettings(command=command, tail_lines=3)
    result = test_wheel(
        wheel, systems=CleanSystems(root_store), settings=settings, project=tmp_path
    )
    assert result.status is TestStatus.FAILED
    assert result.returncode == 3
    assert result.output.splitlines() == ["line 99", "line 100", "broken"]


@pytest.mark.root
@pytest.mark.slow
def test_a_requirement_that_cannot_be_had_is_an_install_failure(
    root_store: RootStore, tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path, "pure", "1.0", "py3-none-any", {"pure.py": b""})
    settings = TestSettings(command="true", requires=("no-such-project-anywhere",))
    result = test_wheel(
        wheel,
        systems=CleanSystems(root_store),
        settings=settings,
        project=tmp_path,
        index=PackageIndex(find_links=(str(tmp_path),), no_index=True),
    )
    assert result.status is TestStatus.INSTALL_FAILED
    assert "no-such-project-anywhere" in result.output


@pytest.mark.root
@pytest.mark.slow
def test_a_library_the_clean_root_lacks_fails_with_the_loaders_message(
    root_store: RootStore,
    sdist_wheel: SdistWheelBuilder,
    patcher: PatchelfPatcher,
    tmp_path: Path,
) -> None:
    """PyYAML repaired with libyaml excluded passes every check a wheel can pass on the build
    machine; only the clean root shows it cannot load. Repaired properly, it passes."""
    built = sdist_wheel("pyyaml", python="3.9")
    excluded = repair_wheel(
        built,
        tmp_path / "excluded",
        RepairRequest(
            patcher=patcher,
            options=RepairOptions(exclude=("libyaml-0.so.2",)),
            audit=AuditOptions(),
        ),
    ).output
    repaired = repair_wheel(built, tmp_path / "repaired", RepairRequest(patcher=patcher)).output
    settings = TestSettings(command="python -c 'import yaml._yaml; print(yaml.__with_libyaml__)'")
    systems = CleanSystems(root_store)
    failed = test_wheel(excluded, systems=systems, settings=settings, project=tmp_path)
    assert failed.status is TestStatus.FAILED
    assert failed.system == "Debian bullseye amd64, CPython 3.9"
    assert "libyaml-0.so.2: cannot open shared object file" in failed.output
    passed = test_wheel(repaired, systems=systems, settings=settings, project=tmp_path)
    assert passed.status is TestStatus.PASSED, passed.output
    assert passed.output.splitlines()[-1] == "True"


AARCH64_MODULE = module_source(
    "armmod", call='if (PyErr_Occurred()) return NULL;\n    PySys_WriteStdout("aarch64 init\\n");'
)


@pytest.mark.root
@pytest.mark.slow
def test_an_aarch64_wheel_is_tested_in_an_arm64_root_under_qemu(
    root_store: RootStore, bookworm_arm64_root: Path, tmp_path: Path
) -> None:
    python = _python("3.11")
    source = tmp_path / "armmod.c"
    source.write_text(AARCH64_MODULE)
    shared = tmp_path / "armmod.so"
    argv = ["aarch64-linux-gnu-gcc", "-shared", "-fPIC", f"-I{python.include}", "-o", str(shared)]
    subprocess.run([*argv, str(source)], check=True)
    wheel = write_wheel(
        tmp_path, "armmod", "1.0", "cp311-cp311-manylinux_2_17_aarch64",
        {"armmod.so": shared.read_bytes()},
    )  # fmt: skip
    settings = TestSettings(
        command="python -c 'import armmod, platform; print(platform.machine())'"
    )
    result = test_wheel(
        wheel, systems=CleanSystems(root_store), settings=settings, project=tmp_path
    )
    assert result.status is TestStatus.PASSED, result.output
    assert result.system == "Debian bookworm arm64 (qemu), CPython 3.11"
    assert result.output.splitlines()[-2:] == ["aarch64 init", "aarch64"]


@pytest.mark.root
@pytest.mark.slow
def test_a_python_only_sid_ships_is_installed_into_a_sid_root(
    root_store: RootStore, tmp_path: Path
) -> None:
    """cp314: no released suite has it; sid's python3.14 goes into a derived sid root."""
    wheel = write_wheel(tmp_path, "pure", "1.0", "py3-none-any", {"pure.py": b"X = 1\n"})
    settings = TestSettings(command="python -c 'import pure, sys; print(sys.version_info[:2])'")
    identifier = BuildIdentifier.parse("cp314-manylinux_x86_64")
    result = test_wheel(
        wheel,
        systems=CleanSystems(root_store),
        settings=settings,
        project=tmp_path,
        identifier=identifier,
    )
    assert result.status is TestStatus.PASSED, result.output
    assert result.system == "Debian sid amd64, CPython 3.14"
    assert result.output.splitlines()[-1] == "(3, 14)"
