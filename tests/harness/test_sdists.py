"""Wheels built here from real sdists: linked to host libraries, so they fail in a clean root."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.fixtures import SdistWheelBuilder
from tests.harness.install import Outcome, install_and_import
from tests.harness.sdists import (
    PROJECTS,
    apt_packages_for,
    ensure_apt_packages,
    find_python,
    missing_apt_packages,
)

LIBFFI = "/usr/lib/x86_64-linux-gnu/libffi.so.8"


def test_apt_packages_for_includes_the_compiler_and_the_dev_packages() -> None:
    assert apt_packages_for("PyYAML") == ("gcc", "libc6-dev", "pkg-config", "libyaml-dev")
    assert {"libxml2-dev", "libxslt1-dev"} <= set(apt_packages_for("lxml"))
    with pytest.raises(ValueError, match="no sdist recipe for 'numpy'"):
        apt_packages_for("numpy")


def test_missing_apt_packages_finds_what_dpkg_lacks() -> None:
    assert missing_apt_packages(["manywheel-no-such-package"]) == ["manywheel-no-such-package"]
    with pytest.raises(Unavailable, match="manywheel-no-such-package"):
        ensure_apt_packages(["manywheel-no-such-package"], install=False)


def test_find_python_validates_the_version() -> None:
    with pytest.raises(ValueError, match="must look like"):
        find_python("3")
    with pytest.raises(Unavailable, match=r"no Python 3\.99"):
        find_python("3.99")


def _host_import(wheel: Path, module: str, python: str, tmp_path: Path) -> None:
    """The wheel is sound where its libraries exist: it imports with the host's python."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    code = f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); import {module}"
    try:
        executable = find_python(python).executable
    except Unavailable as e:
        skip_or_fail(str(e))
    result = subprocess.run(
        [str(executable), "-I", "-c", code], capture_output=True, text=True, check=False, cwd="/"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_unrepaired_wheel_fails_in_bookworm(
    name: str, bookworm_root: Path, sdist_wheel: SdistWheelBuilder, tmp_path: Path
) -> None:
    """Half of the repair proof: the wheel as built cannot import its compiled module there."""
    project = PROJECTS[name]
    wheel = sdist_wheel(name, python="3.11")
    assert wheel.name.endswith("-cp311-cp311-linux_x86_64.whl")
    _host_import(wheel, project.module, "3.11", tmp_path)
    hide = () if project.libraries else (LIBFFI,)  # cffi: libffi is in the root, so hide it
    result = install_and_import(bookworm_root, wheel, project.module, hide=hide)
    assert result.outcome is Outcome.IMPORT_FAILED
    missing = [f"{lib}: cannot open shared object file" for lib in project.libraries]
    missing = missing or ["libffi.so.8: file too short"]
    assert any(message in result.stderr for message in missing), result.stderr


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
def test_cffi_imports_in_bookworm_while_libffi_is_visible(
    bookworm_root: Path, sdist_wheel: SdistWheelBuilder
) -> None:
    result = install_and_import(bookworm_root, sdist_wheel("cffi", python="3.11"), "_cffi_backend")
    assert result.outcome is Outcome.IMPORTED, result.stderr


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.network
def test_cp39_pyyaml_fails_in_bullseye(
    bullseye_root: Path, sdist_wheel: SdistWheelBuilder, tmp_path: Path
) -> None:
    wheel = sdist_wheel("pyyaml", python="3.9")
    assert wheel.name.endswith("-cp39-cp39-linux_x86_64.whl")
    _host_import(wheel, "yaml._yaml", "3.9", tmp_path)
    result = install_and_import(bullseye_root, wheel, "yaml._yaml")
    assert result.outcome is Outcome.IMPORT_FAILED
    assert "libyaml-0.so.2: cannot open shared object file" in result.stderr
