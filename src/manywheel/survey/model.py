"""What an index says about a project: its files and releases, as plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

__all__ = ["DistFile", "FileKind", "ProjectFiles", "Release", "group_releases"]

#: Source distribution suffixes pip and PyPI have accepted over the years.
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")


class FileKind(Enum):
    WHEEL = "wheel"
    SDIST = "sdist"
    #: Eggs, Windows installers, anything else an index may still list.
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DistFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    #: The sha256 the index gives (``#sha256=`` fragment, or PEP 691's ``hashes``), lower case.
    sha256: str | None = None
    size: int | None = None
    requires_python: str | None = None
    yanked: bool = False
    #: The index or find-links location that listed it.
    source: str = ""

    @property
    def kind(self) -> FileKind:
        if self.filename.endswith(".whl"):
            return FileKind.WHEEL
        if self.filename.endswith(_SDIST_SUFFIXES):
            return FileKind.SDIST
        return FileKind.OTHER

    def name_and_version(self) -> tuple[str, Version] | None:
        """The canonical project name and the version the filename names; ``None`` when the
        filename does not parse (an egg, a misnamed upload)."""
        try:
            if self.kind is FileKind.WHEEL:
                name, version, _, _ = parse_wheel_filename(self.filename)
                return name, version
            if self.kind is FileKind.SDIST:
                return _sdist_name_and_version(self.filename)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            return None
        return None


def _sdist_name_and_version(filename: str) -> tuple[str, Version] | None:
    if filename.endswith((".tar.gz", ".zip")):
        return parse_sdist_filename(filename)
    stem = next(filename[: -len(s)] for s in _SDIST_SUFFIXES if filename.endswith(s))
    project, _, text = stem.rpartition("-")
    return (canonicalize_name(project), Version(text)) if project else None


@dataclass(frozen=True, slots=True)
class ProjectFiles:
    """Every file the configured sources list for one project."""

    #: The canonical name (PEP 503).
    name: str
    files: tuple[DistFile, ...]
    #: Sources that failed while others answered (the listing may be incomplete).
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Release:
    """The files of one version of a project."""

    version: Version
    files: tuple[DistFile, ...]

    @property
    def yanked(self) -> bool:
        """Every file of the release is yanked (PEP 592: then the release is)."""
        return all(f.yanked for f in self.files)


def group_releases(name: str, files: Iterable[DistFile]) -> tuple[tuple[Release, ...], int]:
    """The releases among ``files`` (those whose filename names the project ``name``), newest
    first, and how many files were left out (unparsable names, another project's files)."""
    by_version: dict[Version, list[DistFile]] = {}
    left_out = 0
    want = canonicalize_name(name)
    for file in files:
        parsed = file.name_and_version()
        if parsed is None or parsed[0] != want:
            left_out += 1
            continue
        by_version.setdefault(parsed[1], []).append(file)
    releases = tuple(
        Release(version, tuple(sorted(by_version[version], key=lambda f: f.filename)))
        for version in sorted(by_version, reverse=True)
    )
    return releases, left_out
