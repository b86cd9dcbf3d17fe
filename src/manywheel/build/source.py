"""What is built: a project directory or an sdist, checked before anything runs, and copied for
each build so that the project directory is never modified (setuptools writes ``build/`` and
``*.egg-info`` into the tree it builds)."""

from __future__ import annotations

import importlib
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from manywheel.errors import InputError
from manywheel.values import value_class

__all__ = ["ProjectSource", "copy_tree", "open_source"]

#: Never copied into a build's tree: caches and virtual environments.
_IGNORED = ("__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox")

#: pyproject.toml bigger than this is refused.
MAX_PYPROJECT_BYTES = 4 * 2**20


@value_class
class ProjectSource:
    """A project tree ready to be copied per build (the unpacked sdist, or the directory)."""

    #: What the user named: the directory or the sdist file.
    given: Path
    #: The tree to copy for each build.
    tree: Path
    requires_python: SpecifierSet | None
    #: ``[build-system] build-backend`` (``setuptools.build_meta:__legacy__`` without one).
    backend: str


def _load_toml(path: Path) -> dict[str, Any]:
    toml: Any = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    data = path.read_bytes()
    if len(data) > MAX_PYPROJECT_BYTES:
        raise InputError("pyproject.toml is too big", path=str(path))
    try:
        loaded: dict[str, Any] = toml.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a valid pyproject.toml: {e}", path=str(path)) from e
    return loaded


def _describe(given: Path, tree: Path) -> ProjectSource:
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file() and not (tree / "setup.py").is_file():
        raise InputError("not a Python project: no pyproject.toml or setup.py", path=str(given))
    data = _load_toml(pyproject) if pyproject.is_file() else {}
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    system = data.get("build-system") if isinstance(data.get("build-system"), dict) else {}
    requires = project.get("requires-python") if isinstance(project, dict) else None
    specifier = None
    if isinstance(requires, str):
        try:
            specifier = SpecifierSet(requires)
        except InvalidSpecifier as e:
            raise InputError(f"requires-python {requires!r}: {e}", path=str(pyproject)) from e
    backend = system.get("build-backend") if isinstance(system, dict) else None
    return ProjectSource(
        given, tree, specifier, backend if isinstance(backend, str) else "setuptools"
    )


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack into ``dest`` (refusing unsafe members) and return the project's top directory."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                bad = [n for n in archive.namelist() if not _safe_member(n)]
                if bad:
                    raise InputError(f"unsafe member {bad[0]!r}", path=str(sdist))
                archive.extractall(dest)
        else:
            with tarfile.open(sdist) as archive:
                for member in archive.getmembers():
                    if not _safe_member(member.name) or not (member.isfile() or member.isdir()):
                        kind = "link or special file" if _safe_member(member.name) else "path"
                        raise InputError(f"unsafe {kind} {member.name!r}", path=str(sdist))
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(dest, filter="data")
                else:  # pragma: no cover - Python 3.10 before 3.10.12 (members checked above)
                    archive.extractall(dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise InputError(f"not a readable sdist: {e}", path=str(sdist)) from e
    tops = list(dest.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise InputError("an sdist must hold exactly one top directory", path=str(sdist))
    return tops[0]


def open_source(given: Path, unpack_dir: Path) -> ProjectSource:
    """Check the project directory or sdist ``given`` (unpacking an sdist into ``unpack_dir``).
    A missing path or something that is not a project is an :class:`InputError`."""
    if given.is_dir():
        return _describe(given, given)
    if not given.exists():
        raise InputError("no such project directory or sdist", path=str(given))
    if given.name.endswith((".tar.gz", ".tgz", ".tar", ".zip")):
        return _describe(given, _unpack_sdist(given, unpack_dir))
    raise InputError("not a project directory or an sdist (.tar.gz)", path=str(given))


def copy_tree(source: Path, dest: Path, *, exclude: tuple[Path, ...] = ()) -> None:
    """Copy the project tree (symlinks as links) without caches, virtual environments and
    ``exclude`` (the wheelhouse or scratch directories when they are inside the project)."""
    excluded = {p.resolve() for p in exclude}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in _IGNORED}
        base = Path(directory)
        for name in names:
            path = base / name
            if path.resolve() in excluded or (path / "pyvenv.cfg").is_file():
                skipped.add(name)
        return skipped

    shutil.copytree(source, dest, symlinks=True, ignore=ignore)
