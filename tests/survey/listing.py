"""An independent reading of the local indexes for the survey's proofs: the project directories
and the files their pages link (a regular expression, not the survey's parser), the find-links
directory's files; and the classification a person would make of a release from the names."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

__all__ = ["Listing", "expected_kind", "listing"]

_HREF = re.compile(rb'href="([^"#]+)[^"]*"')


@dataclass(frozen=True)
class Listing:
    #: canonical project name -> the filenames the sources list for it
    files: dict[str, set[str]]


def _project_and_version(name: str) -> tuple[str, Version] | None:
    try:
        if name.endswith(".whl"):
            project, version, _, _ = parse_wheel_filename(name)
            return project, version
        if name.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(name)
    except ValueError:
        return None
    return None


def listing(simple_roots: list[Path], find_links: Path) -> Listing:
    files: dict[str, set[str]] = defaultdict(set)
    for root in simple_roots:
        for page in root.glob("*/index.html"):
            project = canonicalize_name(page.parent.name)
            for href in _HREF.findall(page.read_bytes()):
                files[project].add(unquote(href.decode()).rsplit("/", 1)[-1])
    for path in find_links.iterdir():
        parsed = _project_and_version(path.name)
        if parsed is not None:
            files[parsed[0]].add(path.name)
    return Listing(dict(files))


def versions(names: set[str]) -> dict[Version, set[str]]:
    by_version: dict[Version, set[str]] = defaultdict(set)
    for name in names:
        parsed = _project_and_version(name)
        if parsed is not None:
            by_version[parsed[1]].add(name)
    return dict(by_version)


def expected_kind(names: set[str]) -> str:
    """A person's reading: any wheel whose platform is not ``any`` makes it binary; else any
    wheel, pure; else an sdist, source only."""
    wheels = [n for n in names if n.endswith(".whl")]
    if any(n[:-4].rsplit("-", 1)[-1] != "any" for n in wheels):
        return "binary"
    if wheels:
        return "pure"
    return "sdist-only" if names else "no-files"
