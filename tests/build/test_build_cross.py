"""zig builds for what this x86_64 glibc machine has no interpreter of, through Debian roots:
an aarch64 wheel (its Python under qemu, zig native) that imports in a clean arm64 root; a
musllinux wheel that imports under a musl CPython; a free-threaded wheel that imports under a
free-threaded CPython. The clean systems are the test stage's (manywheel.build.testing): roots
that never saw the build. And a before-all that breaks for one target only fails that target's
identifiers while the other target's wheel is written."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from manywheel.build.roots_systems import CleanSystems
from manywheel.build.testing import TestSettings, TestStatus, test_wheel
from tests.build.conftest import EXAMPLES, run_build
from tests.harness.availability import skip_or_fail
from tests.harness.cache import HarnessCache
from tests.harness.roots import root_store

pytestmark = [pytest.mark.slow, pytest.mark.network, pytest.mark.root]

#: uv as the frontend's installer: the same build, minutes faster under qemu.
FAST = ("--build-frontend", "build[uv]", "--make-interpreters")


def _machine_can_emulate() -> None:
    if not Path("/usr/lib/binfmt.d/qemu-aarch64.conf").is_file():
        skip_or_fail("qemu-user-static is not installed (apt-get install qemu-user-static)")


def _build(project: Path, identifiers: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    call = run_build(
        [str(project), "-w", str(tmp_path / "wh"), "--build", identifiers, "--json", *FAST, *extra],
        log_dir=tmp_path / "logs",
    )
    if "cannot be made here" in call.stderr or "needs root" in call.stderr:
        skip_or_fail(call.stderr.strip())
    return {"code": call.code, "stderr": call.stderr, "builds": call.builds()}


def _clean_test(wheel: Path, project: Path, command: str) -> str:
    systems = CleanSystems(root_store(HarnessCache.default()), build_interpreters=True)
    result = test_wheel(
        wheel, systems=systems, settings=TestSettings(command=command), project=project
    )
    assert result.status is TestStatus.PASSED, (result.system, result.output)
    return f"{result.system}\n{result.output}"


def _readelf(wheel: Path, member_pattern: str, tmp_path: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if re.search(member_pattern, n))
        target = tmp_path / "member.so"
        target.write_bytes(archive.read(name))
    return subprocess.run(
        ["readelf", "-h", "--version-info", "-W", str(target)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_aarch64_wheel_imports_in_an_arm64_root(tmp_path: Path) -> None:
    _machine_can_emulate()
    demo = EXAMPLES / "demo"
    run = _build(demo, "cp311-manylinux_aarch64", tmp_path, "--before-all", "./build-libdemo.sh")
    assert run["code"] == 0, run["stderr"]
    build = run["builds"]["cp311-manylinux_aarch64"]
    assert "manylinux_2_17_aarch64" in build["platform_tags"]
    assert any(g["member"].startswith("manywheel_demo.libs/libdemo-") for g in build["grafted"])
    wheel = Path(build["path"])
    text = _readelf(wheel, r"_demo\..*\.so$", tmp_path)
    assert "AArch64" in text
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_([\d.]+)", text)}
    assert versions and max(versions) <= (2, 17), versions
    output = _clean_test(
        wheel,
        demo,
        'python -c "import demo, platform; print(platform.machine(), demo.greeting())"',
    )
    assert "qemu" in output
    assert "aarch64 hello from libdemo" in output


def test_musllinux_wheel_imports_under_a_musl_python(tmp_path: Path) -> None:
    project = EXAMPLES / "pybind11-cpp"
    run = _build(project, "cp311-musllinux_x86_64", tmp_path)
    assert run["code"] == 0, run["stderr"]
    build = run["builds"]["cp311-musllinux_x86_64"]
    assert build["platform_tags"] == ["musllinux_1_2_x86_64"]
    wheel = Path(build["path"])
    needed = _readelf(wheel, r"pbdemo\..*\.so$", tmp_path)
    assert "GLIBC" not in needed
    output = _clean_test(
        wheel,
        project,
        'python -c "import pbdemo, sysconfig; '
        "print(sysconfig.get_config_var('HOST_GNU_TYPE'), pbdemo.word_counts(['a', 'a']))\"",
    )
    assert "musl" in output
    assert "{'a': 2}" in output


def test_free_threaded_wheel_imports_under_a_free_threaded_python(tmp_path: Path) -> None:
    project = EXAMPLES / "pybind11-cpp"
    run = _build(project, "cp313t-manylinux_x86_64", tmp_path)
    assert run["code"] == 0, run["stderr"]
    build = run["builds"]["cp313t-manylinux_x86_64"]
    assert build["wheel"].startswith("manywheel_example_pybind11-1.0.0-cp313-cp313t-")
    output = _clean_test(
        Path(build["path"]),
        project,
        'python -c "import pbdemo, sys; print(sys._is_gil_enabled(), pbdemo.checked_div(6, 3))"',
    )
    assert "False 2" in output


def test_a_before_all_broken_for_one_target_spares_the_other(tmp_path: Path) -> None:
    _machine_can_emulate()
    run = _build(
        EXAMPLES / "demo",
        "cp311-manylinux_x86_64 cp311-manylinux_aarch64",
        tmp_path,
        "--before-all",
        'if [ "$MANYWHEEL_ARCH" = aarch64 ]; then echo no libdemo for arm; exit 7; fi; '
        "./build-libdemo.sh",
    )
    assert run["code"] == 1
    builds = run["builds"]
    assert builds["cp311-manylinux_x86_64"]["status"] == "built"
    failed = builds["cp311-manylinux_aarch64"]
    assert (failed["status"], failed["stage"]) == ("failed", "before-all")
    assert failed["error"] == "before-all exited with status 7"
    assert "| no libdemo for arm" in run["stderr"]
    written = sorted(p.name for p in (tmp_path / "wh").iterdir())
    assert written == [builds["cp311-manylinux_x86_64"]["wheel"]]
