"""examples/demo built with zig for every CPython on the machine: manylinux_2_17 wheels whose
ELF files need nothing newer than GLIBC_2.17 (GNU readelf says so, not only manywheel), with
libdemo grafted, that import without the build's libraries: in clean Debian roots for the
Pythons those roots have (bullseye 3.9 with glibc 2.31, bookworm 3.11, trixie 3.13), and on the
host in a bare directory for the others. The project directory is left untouched."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from manywheel.audit import audit_wheel
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
