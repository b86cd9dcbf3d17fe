"""Which packages to survey, and which of their releases.

Package lists come from names, a requirements file (``-r`` includes followed, pins kept), a lock
file (``pylock.toml`` of PEP 751, ``uv.lock``, ``poetry.lock``, ``Pipfile.lock``), or a download
ranking in the JSON format of the public top-packages lists (``{"rows": [{"project": ...,
"download_count": ...}]}``). Releases: the latest by default, the latest N, or all; a pin or a
specifier from the list chooses among them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from manywheel.errors import InputError
from manywheel.survey.model import Release

__all__ = [
    "PackageListError",
    "PackageRequest",
    "ReleaseSelection",
    "read_package_list",
    "requests_from_names",
    "select_releases",
]

#: ``-r`` includes followed at most this deep (a file including itself is refused sooner).
_MAX_INCLUDE_DEPTH = 16
#: The biggest list file read.
_MAX_LIST_BYTES = 256 * 2**20


class PackageListError(InputError):
    """A package list that cannot be read (missing, malformed, an unknown format)."""


@dataclass(frozen=True, slots=True)
class PackageRequest:
    """One package to survey, as the list named it."""

    name: str
    #: Which releases the list allows (a pin is ``==1.2.3``); ``None``: any.
    specifier: str | None = None
    #: Position and downloads in a ranking, when the list is one.
    rank: int | None = None
    downloads: int | None = None

    @property
    def canonical(self) -> str:
        return canonicalize_name(self.name)


def requests_from_names(names: list[str]) -> list[PackageRequest]:
    """Names (or requirement strings: ``numpy>=2``) from the command line."""
    return [_request(text, "the command line") for text in names]


def _request(text: str, where: str) -> PackageRequest:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        raise PackageListError(f"not a package name or requirement: {text!r}", path=where) from e
    specifier = str(requirement.specifier) or None
    return PackageRequest(requirement.name, specifier)


def read_package_list(path: Path, *, top: int | None = None) -> list[PackageRequest]:
    """The packages a list file names, in its order (a ranking: by downloads), duplicates
    dropped; the first ``top`` when given."""
    text = _read_text(path)
    name = path.name.lower()
    if name.endswith(".json") and name != "pipfile.lock":
        found = _ranking(text, path)
    elif name == "pipfile.lock":
        found = _pipfile_lock(text, path)
    elif name.endswith((".toml", ".lock")) and name != "pipfile.lock":
        found = _toml_lock(text, path)
    else:
        found = list(_requirements(path, text, depth=0, seen=frozenset()))
    unique: dict[str, PackageRequest] = {}
    for request in found:
        unique.setdefault(request.canonical, request)
    requests = list(unique.values())
    return requests if top is None else requests[:top]


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_LIST_BYTES + 1)
    except OSError as e:
        raise PackageListError(f"cannot read: {e.strerror or e}", path=str(path)) from e
    if len(data) > _MAX_LIST_BYTES:
        raise PackageListError(f"over {_MAX_LIST_BYTES} bytes", path=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PackageListError("not UTF-8 text", path=str(path)) from e


def _ranking(text: str, path: Path) -> list[PackageRequest]:
    """hugovk's top-pypi-packages format, or a plain JSON list of names."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise PackageListError(f"invalid JSON: {e}", path=str(path)) from e
    if isinstance(document, list) and all(isinstance(n, str) for n in document):
        return [_request(n, str(path)) for n in document]
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise PackageListError(
            'expected {"rows": [{"project": ..., "download_count": ...}]} or a list of names',
            path=str(path),
        )
    entries = []
    for row in rows:
        project = row.get("project") if isinstance(row, dict) else None
        if not isinstance(project, str):
            raise PackageListError(f"a row without a project name: {row!r}", path=str(path))
        count = row.get("download_count")
        entries.append((project, count if isinstance(count, int) else None))
    ordered = sorted(entries, key=lambda e: -(e[1] or 0))  # stable: ties keep the file's order
    return [
        PackageRequest(project, None, rank, count)
        for rank, (project, count) in enumerate(ordered, start=1)
    ]


def _pinned(name: object, version: object, path: Path) -> PackageRequest:
    if not isinstance(name, str) or not name:
        raise PackageListError(f"a package without a name: {name!r}", path=str(path))
    if isinstance(version, str) and version:
        return PackageRequest(name, f"=={version}")
    return PackageRequest(name)


def _toml_lock(text: str, path: Path) -> list[PackageRequest]:
    """``pylock.toml`` (``[[packages]]``), ``uv.lock`` and ``poetry.lock`` (``[[package]]``):
    name and version of each locked package. Packages from a directory, a VCS or a URL rather
    than an index are left out."""
    document = _toml(text, path)
    packages = document.get("packages", document.get("package"))
    if not isinstance(packages, list):
        raise PackageListError("no [[packages]] or [[package]] tables", path=str(path))
    found = []
    for package in packages:
        if not isinstance(package, dict):
            raise PackageListError("a package entry is not a table", path=str(path))
        if not _from_an_index(package):
            continue
        found.append(_pinned(package.get("name"), package.get("version"), path))
    return found


def _from_an_index(package: dict[str, Any]) -> bool:
    if any(k in package for k in ("vcs", "directory", "archive")):  # pylock.toml
        return False
    source = package.get("source")
    if isinstance(source, dict):
        if "type" in source:  # poetry.lock: a legacy source is an index
            return bool(source["type"] == "legacy")
        return "registry" in source  # uv.lock: editable, virtual, git, path, url are not
    return True


def _toml(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        except ImportError as e:
            raise PackageListError(
                "reading TOML lock files on Python 3.10 needs tomli "
                "(pip install 'manywheel[survey]')",
                path=str(path),
            ) from e
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PackageListError(f"invalid TOML: {e}", path=str(path)) from e
    return document


def _pipfile_lock(text: str, path: Path) -> list[PackageRequest]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise PackageListError(f"invalid JSON: {e}", path=str(path)) from e
    if not isinstance(document, dict):
        raise PackageListError("not a Pipfile.lock", path=str(path))
    found = []
    for section in ("default", "develop"):
        for name, entry in (document.get(section) or {}).items():
            version = entry.get("version", "") if isinstance(entry, dict) else ""
            pin = version[2:] if isinstance(version, str) and version.startswith("==") else None
            found.append(_pinned(name, pin, path))
    return found


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with ``\\`` continuations joined and comments removed, with their line number."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = pending + raw
        pending = ""
        if line.lstrip().startswith("#"):
            continue
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line:
            yield start, line
    if pending.strip():
        yield start, pending.strip()


def _requirements(
    path: Path, text: str, *, depth: int, seen: frozenset[Path]
) -> Iterator[PackageRequest]:
    """pip's requirements format: one requirement per line, ``-r`` includes followed; options,
    editables, paths and URLs (not index packages) left out."""
    here = path.resolve()
    if here in seen or depth > _MAX_INCLUDE_DEPTH:
        raise PackageListError("requirements files include each other", path=str(path))
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        if line.startswith(("-r", "--requirement")):
            included = (path.parent / _option_value(line, where)).resolve()
            yield from _requirements(
                included, _read_text(included), depth=depth + 1, seen=seen | {here}
            )
            continue
        if line.startswith("-"):  # -c, -e, --index-url, --hash on its own line...
            continue
        requirement = line.split(" --", 1)[0].strip()  # trailing --hash=... options
        if requirement.startswith((".", "/")) or "://" in requirement.split("@", 1)[0]:
            continue
        request = _request(requirement, where)
        parsed = Requirement(requirement)
        if parsed.url:
            continue
        yield request


def _option_value(line: str, where: str) -> str:
    for prefix in ("--requirement=", "--requirement", "-r"):
        if line.startswith(prefix):
            value = line[len(prefix) :].strip()
            if value:
                return value
    raise PackageListError("-r without a file name", path=where)


@dataclass(frozen=True, slots=True)
class ReleaseSelection:
    """Which releases of a package to survey."""

    #: The newest this many (``None``: all).
    count: int | None = 1
    #: Pre-releases count as releases (otherwise only when a project has nothing else).
    pre: bool = False


def select_releases(
    releases: tuple[Release, ...], selection: ReleaseSelection, specifier: str | None
) -> tuple[Release, ...]:
    """The releases to survey among ``releases`` (newest first): those the specifier allows,
    not yanked unless pinned, final ones unless pre-releases are asked for or there are no
    others; the newest ``selection.count``."""
    spec = _specifier(specifier)
    pinned = spec is not None and any(s.operator in ("==", "===") for s in spec)
    chosen = [
        r
        for r in releases
        if (spec is None or spec.contains(r.version, prereleases=True)) and (pinned or not r.yanked)
    ]
    finals = [r for r in chosen if not r.version.is_prerelease]
    if not selection.pre and finals and not _asks_for_pre(spec):
        chosen = finals
    return tuple(chosen if selection.count is None else chosen[: selection.count])


def _specifier(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _asks_for_pre(spec: SpecifierSet | None) -> bool:
    return spec is not None and bool(spec.prereleases)
