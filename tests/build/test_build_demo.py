"""examples/demo through the whole pipeline with zig for every CPython on the machine:
manylinux_2_17 wheels whose ELF files need nothing newer than GLIBC_2.17 (GNU readelf says so,
not only manywheel), with libdemo grafted; each tested by the demo's own test-command in a fresh
venv on the clean system the test stage chose (bullseye for 3.9, bookworm for 3.11, trixie for
3.13, a pyenv interpreter bound into the oldest root it runs on for the others), checked, and
uploaded to a pypiserver on loopback, from which pip installs the wheel into a fresh clean
bullseye root (glibc 2.31, older than this glibc 2.36 host) where it imports and calls the
extension. They also import on the host in a bare directory. The project is left untouched."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from manywheel.audit import audit_wheel
from manywheel.build.roots_run import run_in_root
from manywheel.build.roots_venv import DEBIAN_PIP_WHEELS, find_pip_wheel, make_venv
from tests.build.conftest import (
    DemoMatrix,
    assert_schema,
    cpython_tag,
    import_unzipped,
)
from tests.harness.install import Outcome, install_and_import
from tests.harness.sdists import find_python

pytestmark = [pytest.mark.slow, pytest.mark.network]

DEMO_CHECK = (
    "import demo; "
    "assert 'libdemo' in demo.greeting(), demo.greeting(); "
    "assert demo.compressed_size(b'x' * 10000) < 100; "
    "print(demo.__file__)"
)


def _wheel(matrix: DemoMatrix, version: str) -> Path:
    build = matrix.call.builds()[f"{cpython_tag(version)}-manylinux_x86_64"]
    assert build["status"] == "built", build
    return Path(build["path"])


def test_every_cpython_is_built_and_only_repaired_wheels_are_written(
    demo_matrix: DemoMatrix,
) -> None:
    call = demo_matrix.call
    assert call.code == 0, call.stderr
    expected = {f"{cpython_tag(v)}-manylinux_x86_64" for v in demo_matrix.versions}
    assert set(call.builds()) == expected
    written = sorted(p.name for p in demo_matrix.wheelhouse.iterdir())
    assert written == sorted(b["wheel"] for b in call.builds().values())
    assert all("manylinux_2_17_x86_64" in name for name in written), written
    assert call.document["summary"] == {
        "built": len(expected),
        "failed": 0,
        "unavailable": 0,
        "exit_code": 0,
    }
    assert_schema(call)


def test_every_wheel_passed_its_test_on_a_clean_system(demo_matrix: DemoMatrix) -> None:
    """The demo's test ran from ``tests/`` (test-sources) in a fresh venv of the clean system
    the test stage chose, which never saw the build's prefix, and passed; then the check."""
    for version in demo_matrix.versions:
        build = demo_matrix.call.builds()[f"{cpython_tag(version)}-manylinux_x86_64"]
        test = build["test"]
        assert test["status"] == "passed", build
        assert test["system"].startswith("Debian ")
        assert f"CPython {version}" in test["system"]
        assert test["output"][-2].startswith("hello from libdemo"), test["output"]
        assert re.fullmatch(r"deflated 10000 bytes of x to \d+ bytes", test["output"][-1])
        passed = {"ok": True, "problems": [], "warnings": [], "best_tag": build["tag"]}
        assert build["check"] == passed
    # the oldest root with the Python: its own (bullseye's 3.9, bookworm's 3.11), else a
    # pyenv interpreter bound into the oldest root whose glibc runs it
    systems = {b["identifier"]: b["test"]["system"] for b in demo_matrix.call.document["builds"]}
    for suite, version in (("bullseye", "3.9"), ("bookworm", "3.11")):
        if version in demo_matrix.versions:
            oldest = f"Debian {suite} amd64, CPython {version}"
            assert systems[f"{cpython_tag(version)}-manylinux_x86_64"] == oldest


def test_every_wheel_was_uploaded(demo_matrix: DemoMatrix) -> None:
    document = demo_matrix.call.document
    names = sorted(b["wheel"] for b in document["builds"])
    assert demo_matrix.index.files() == names
    assert document["upload"]["uploaded"] == len(names)
    assert document["upload"]["error"] is None
    assert {b["upload"]["outcome"] for b in document["builds"]} == {"uploaded"}


@pytest.mark.root
def test_pip_installs_it_from_the_index_into_a_fresh_clean_root(
    demo_matrix: DemoMatrix, bullseye_root: Path
) -> None:
    """pip in a fresh venv of a clean bullseye root (glibc 2.31, python 3.9) finds the cp39
    wheel on the index by its tags among the others, installs it, and the extension runs."""
    if "3.9" not in demo_matrix.versions:
        pytest.skip("no CPython 3.9 on this machine to build the bullseye wheel with")
    server = demo_matrix.index
    index = server.simple.replace("://", f"://{server.username}:{server.password}@")
    venv = make_venv(bullseye_root, PurePosixPath("/tmp/from-index/venv"))
    try:
        pip_wheel = find_pip_wheel(bullseye_root, [DEBIAN_PIP_WHEELS])
        assert pip_wheel is not None
        pip = [*venv.pip(pip_wheel), "install", "--no-cache-dir", "--index-url", index]
        installed = run_in_root(bullseye_root, [*pip, "manywheel-demo==1.0.0"])
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert "manywheel_demo-1.0.0-cp39-cp39-manylinux" in installed.stdout
        code = "import demo; print(demo.greeting(), demo.compressed_size(b'x' * 10000))"
        ran = run_in_root(bullseye_root, [venv.python, "-I", "-c", code])
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("hello from libdemo"), ran.stdout
    finally:
        shutil.rmtree(venv.host.parent, ignore_errors=True)


def test_the_project_directory_is_not_modified(demo_matrix: DemoMatrix) -> None:
    assert demo_matrix.digest_after == demo_matrix.digest_before


def _glibc_versions(wheel: Path, tmp_path: Path) -> set[tuple[int, ...]]:
    """Every GLIBC_x.y version the wheel's ELF files need, as GNU readelf reads them."""
    versions: set[tuple[int, ...]] = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if ".so" not in name:
                continue
            tmp_path.mkdir(parents=True, exist_ok=True)
            target = tmp_path / name.replace("/", "_")
            target.write_bytes(archive.read(name))
            text = subprocess.run(
                ["readelf", "--version-info", "-W", str(target)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            versions |= {
                tuple(int(x) for x in m.split(".")) for m in re.findall(r"GLIBC_([\d.]+)", text)
            }
    return versions


def test_each_wheel_needs_at_most_glibc_2_17(demo_matrix: DemoMatrix, tmp_path: Path) -> None:
    for version in demo_matrix.versions:
        wheel = _wheel(demo_matrix, version)
        needed = _glibc_versions(wheel, tmp_path / version)
        assert needed, f"{version}: the extension and libdemo need libc"
        assert max(needed) <= (2, 17), (version, needed)
        report = audit_wheel(wheel)
        assert report.verdict is not None
        manylinux_2_17 = report.verdict.get("manylinux_2_17")
        assert manylinux_2_17 is not None
        assert manylinux_2_17.allowed, (version, manylinux_2_17.reasons)
        members = [m.member for m in report.members]
        libdemo = r"manywheel_demo\.libs/libdemo-[0-9a-f]{8}\.so\.1"
        assert any(re.fullmatch(libdemo, m) for m in members), (version, members)


#: The clean roots and the Python each has.
ROOT_PYTHONS = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}


@pytest.mark.root
@pytest.mark.parametrize("suite", sorted(ROOT_PYTHONS))
def test_wheel_imports_in_a_clean_root(
    demo_matrix: DemoMatrix, suite: str, request: pytest.FixtureRequest
) -> None:
    """bullseye (glibc 2.31, older than this glibc 2.36 host) is the oldest system here: the
    cp39 wheel imports there without libdemo, which only its own .libs copy provides."""
    version = ROOT_PYTHONS[suite]
    if version not in demo_matrix.versions:
        pytest.skip(f"no CPython {version} on this machine to build the {suite} wheel with")
    root: Path = request.getfixturevalue(f"{suite}_root")
    result = install_and_import(root, _wheel(demo_matrix, version), "demo", code=DEMO_CHECK)
    assert result.outcome is Outcome.IMPORTED, result.stderr


def test_wheels_import_on_the_host_without_the_build(
    demo_matrix: DemoMatrix, tmp_path: Path
) -> None:
    """For every version (the roots have three): unzipped into a bare directory, imported by
    the host's interpreter in isolated mode from /, with the build's prefix long gone."""
    for version in demo_matrix.versions:
        site = tmp_path / version
        python = find_python(version).executable
        result = import_unzipped(_wheel(demo_matrix, version), site, python, DEMO_CHECK)
        assert result.returncode == 0, (version, result.stderr)
        assert str(site) in result.stdout
