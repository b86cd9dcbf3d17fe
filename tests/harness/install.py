"""Installing a wheel into a fresh venv inside a Debian root and importing it there.

The venv is made with ``--without-pip`` and pip runs from the root's own bundled pip wheel
(``/usr/share/python-wheels/pip-*.whl``), offline (``--no-index --no-deps``): ~1.5 s, and the
root's pip — not the host's — decides whether the wheel's tags are supported. The import runs from
``/`` in isolated mode (``python -I``), so nothing is imported from a source tree.
"""

from __future__ import annotations

import enum
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from manywheel.build.roots_run import inside, run_in_root
from manywheel.build.roots_venv import DEBIAN_PIP_WHEELS, RootVenv, find_pip_wheel, make_venv

__all__ = ["ImportResult", "Outcome", "install_and_import", "unzip_and_import"]

_UNSUPPORTED = "is not a supported wheel on this platform"


class Outcome(enum.Enum):
    """How far a wheel got inside the root."""

    IMPORTED = "imported"  # installed, imported, and ``code`` ran without error
    IMPORT_FAILED = "import-failed"  # installed, but the import (or ``code``) failed
    UNSUPPORTED = "unsupported"  # the root's pip refused the wheel's tags
    INSTALL_FAILED = "install-failed"  # pip failed for any other reason


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What happened; ``stderr`` holds the pip error or the import traceback."""

    outcome: Outcome
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.IMPORTED


def _bundled_pip(root: Path) -> PurePosixPath:
    wheel = find_pip_wheel(root, [DEBIAN_PIP_WHEELS])
    if wheel is None:
        raise FileNotFoundError(f"{root} has no bundled pip wheel (is python3-venv installed?)")
    return wheel


def _make_venv(root: Path, scratch: Path, python: str = "python3") -> RootVenv:
    return make_venv(root, PurePosixPath("/") / scratch.relative_to(root) / "venv", python=python)


def _site_packages(venv: RootVenv) -> Path:
    found = sorted(venv.host.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"expected one site-packages in {venv.host}, found {found}")
    return found[0]


def _import(
    root: Path, venv: RootVenv, module: str, code: str | None, hide: Sequence[str]
) -> ImportResult:
    source = f"import {module}" + (f"\n{code}" if code else "")
    result = run_in_root(root, [venv.python, "-I", "-c", source], hide=hide)
    outcome = Outcome.IMPORTED if result.returncode == 0 else Outcome.IMPORT_FAILED
    return ImportResult(outcome, result.returncode, result.stdout, result.stderr)


def _scratch(root: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix="manywheel-", dir=inside(root, "/tmp")))


def install_and_import(
    root: Path,
    wheel: Path,
    module: str,
    *,
    code: str | None = None,
    hide: Sequence[str] = (),
    python: str = "python3",
) -> ImportResult:
    """pip-install ``wheel`` into a fresh venv in ``root``, then ``import module`` and run ``code``.

    ``hide`` (in-root library paths) applies to the import only: pip itself may need them.
    ``python`` (a command or path inside the root) makes the venv: ``python3.15``, a built
    interpreter's path.
    """
    scratch = _scratch(root)
    try:
        venv = _make_venv(root, scratch, python)
        shutil.copyfile(wheel, scratch / wheel.name)
        pip = [*venv.pip(_bundled_pip(root)), "install", "--no-index", "--no-deps"]
        pip += ["--no-cache-dir", str(venv.path.parent / wheel.name)]
        installed = run_in_root(root, pip)
        if installed.returncode != 0:
            outcome = (
                Outcome.UNSUPPORTED if _UNSUPPORTED in installed.stderr else Outcome.INSTALL_FAILED
            )
            return ImportResult(outcome, installed.returncode, installed.stdout, installed.stderr)
        return _import(root, venv, module, code, hide)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unzip_and_import(
    root: Path, wheel: Path, module: str, *, code: str | None = None, hide: Sequence[str] = ()
) -> ImportResult:
    """Like :func:`install_and_import` but unzip ``wheel`` into site-packages, ignoring its tags.

    For proving that a wheel pip refuses really would not work there (e.g. ``GLIBC_2.34 not
    found``). ``*.data/purelib`` and ``platlib`` contents are merged; other ``.data`` is dropped.
    """
    scratch = _scratch(root)
    try:
        venv = _make_venv(root, scratch)
        site = _site_packages(venv)
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                name = PurePosixPath(member.filename)
                if name.parts[0].endswith(".data"):
                    if len(name.parts) < 3 or name.parts[1] not in {"purelib", "platlib"}:
                        continue
                    name = PurePosixPath(*name.parts[2:])
                if member.is_dir() or ".." in name.parts or name.is_absolute():
                    continue
                target = site.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
        return _import(root, venv, module, code, hide)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
