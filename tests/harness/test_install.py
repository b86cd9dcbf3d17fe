"""Installing and importing inside a root: every outcome, on tiny gcc-built wheels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.extensions import build_extension_wheel, module_source, write_wheel
from tests.harness.install import Outcome, install_and_import, unzip_and_import
from tests.harness.sdists import HostPython, find_python

pytestmark = [pytest.mark.root, pytest.mark.slow]

# pthread_create is GLIBC_2.34 on the host (glibc 2.36); bullseye has glibc 2.31.
NEEDS_GLIBC_2_34 = module_source(
    "newglibc",
    body="#include <pthread.h>\nstatic void *run(void *arg) { return arg; }",
    call="pthread_t t; if (pthread_create(&t, NULL, run, NULL) == 0) pthread_join(t, NULL);",
)
PLAIN = module_source("plain")


@pytest.fixture(scope="module")
def python39() -> HostPython:
    try:
        return find_python("3.9")
    except Unavailable as e:
        skip_or_fail(str(e))


def test_pure_wheel_imports_and_runs_code(bookworm_root: Path, tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, "hello", "1.0", "py3-none-any", {"hello.py": b"X = 42\n"})
    result = install_and_import(bookworm_root, wheel, "hello", code="print(hello.X)")
    assert result.outcome is Outcome.IMPORTED, result.stderr
    assert result.ok
    assert result.stdout == "42\n"


def test_failing_code_is_an_import_failure(bookworm_root: Path, tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, "hello", "1.0", "py3-none-any", {"hello.py": b"X = 42\n"})
    result = install_and_import(bookworm_root, wheel, "hello", code="assert hello.X == 0, 'nope'")
    assert result.outcome is Outcome.IMPORT_FAILED
    assert "AssertionError: nope" in result.stderr


def test_broken_wheel_is_an_install_failure(bookworm_root: Path, tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip file")
    result = install_and_import(bookworm_root, wheel, "broken")
    assert result.outcome is Outcome.INSTALL_FAILED
    assert not result.ok


def test_nothing_is_imported_from_the_working_directory(bookworm_root: Path) -> None:
    """The import runs from / in isolated mode: a stray module there is not found."""
    stray = bookworm_root / "stray.py"
    stray.write_text("X = 1\n")
    try:
        wheel_dir = bookworm_root / "tmp"
        wheel = write_wheel(wheel_dir, "other", "1.0", "py3-none-any", {"other.py": b""})
        result = install_and_import(bookworm_root, wheel, "other", code="import stray")
    finally:
        stray.unlink()
        wheel.unlink()
    assert result.outcome is Outcome.IMPORT_FAILED
    assert "No module named 'stray'" in result.stderr


def test_old_glibc_wheel_imports_in_bullseye(
    bullseye_root: Path, python39: HostPython, tmp_path: Path
) -> None:
    wheel = build_extension_wheel(
        tmp_path, python39, "plain", PLAIN, platform_tag="manylinux_2_31_x86_64"
    )
    result = install_and_import(bullseye_root, wheel, "plain")
    assert result.outcome is Outcome.IMPORTED, result.stderr


def test_newer_tag_is_refused_and_really_would_fail(
    bullseye_root: Path, python39: HostPython, tmp_path: Path
) -> None:
    """pip refusing the tag is reported apart from an import failure; force-unzipped, it fails."""
    wheel = build_extension_wheel(
        tmp_path, python39, "newglibc", NEEDS_GLIBC_2_34, platform_tag="manylinux_2_34_x86_64"
    )
    refused = install_and_import(bullseye_root, wheel, "newglibc")
    assert refused.outcome is Outcome.UNSUPPORTED
    assert "is not a supported wheel on this platform" in refused.stderr
    forced = unzip_and_import(bullseye_root, wheel, "newglibc")
    assert forced.outcome is Outcome.IMPORT_FAILED
    assert "version `GLIBC_2.34' not found" in forced.stderr


def test_lying_tag_installs_and_fails_to_import(
    bullseye_root: Path, python39: HostPython, tmp_path: Path
) -> None:
    """The failure a truthful tag prevents: tagged 2_31, pip installs it, the import fails."""
    wheel = build_extension_wheel(
        tmp_path, python39, "newglibc", NEEDS_GLIBC_2_34, platform_tag="manylinux_2_31_x86_64"
    )
    result = install_and_import(bullseye_root, wheel, "newglibc")
    assert result.outcome is Outcome.IMPORT_FAILED
    assert "version `GLIBC_2.34' not found" in result.stderr


def test_unzip_and_import_imports_a_good_wheel(
    bullseye_root: Path, python39: HostPython, tmp_path: Path
) -> None:
    wheel = build_extension_wheel(tmp_path, python39, "plain", PLAIN, platform_tag="linux_x86_64")
    result = unzip_and_import(bullseye_root, wheel, "plain", code="print(plain.__file__)")
    assert result.outcome is Outcome.IMPORTED, result.stderr
    assert result.stdout.strip().endswith("/site-packages/plain.so")


def test_venvs_are_removed_afterwards(bookworm_root: Path, tmp_path: Path) -> None:
    before = set((bookworm_root / "tmp").iterdir())
    wheel = write_wheel(tmp_path, "hello", "1.0", "py3-none-any", {"hello.py": b""})
    assert install_and_import(bookworm_root, wheel, "hello").ok
    assert set((bookworm_root / "tmp").iterdir()) == before
