"""Index clients behind one Protocol: a simple repository (PEP 503 HTML or PEP 691 JSON, chosen
by ``Accept`` negotiation, over ``http(s)://`` or ``file://``), pip's ``--find-links`` (a
directory or a page of links), and several of them merged the way pip merges its index URL,
extra index URLs and find-links.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

from packaging.utils import canonicalize_name

from manywheel.errors import ManywheelError
from manywheel.survey.links import (
    JSON_TYPE,
    InvalidPageError,
    files_from_anchors,
    html_anchors,
    json_files,
    json_projects,
)
from manywheel.survey.model import DistFile, ProjectFiles
from manywheel.survey.transport import FetchError, Response, Transport

__all__ = [
    "ACCEPT",
    "FindLinks",
    "IndexClient",
    "IndexUnavailableError",
    "MergedIndex",
    "ProjectNotFoundError",
    "SimpleIndex",
    "location_url",
]

#: PEP 691's negotiation: JSON preferred, HTML accepted.
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
#: The biggest index page read (PyPI's root lists every project: tens of MB).
PAGE_LIMIT = 512 * 2**20


class ProjectNotFoundError(ManywheelError):
    """No configured source knows the project (every one answered 404)."""


class IndexUnavailableError(ManywheelError):
    """A source could not answer: unreachable, an HTTP error, a page that is not an index."""


class IndexClient(Protocol):
    """Where project files are listed."""

    @property
    def locations(self) -> tuple[str, ...]:
        """The URLs (or directories) it reads, for reports."""
        ...

    def project_files(self, name: str) -> ProjectFiles:
        """Every file listed for ``name``. Raises :class:`ProjectNotFoundError` or
        :class:`IndexUnavailableError`."""
        ...

    def project_names(self) -> Iterator[str]:
        """Every project the source lists."""
        ...


def location_url(location: str) -> str:
    """A URL for an index location given as a URL or as a local path."""
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    return Path(location).absolute().as_uri()


def _fetch(transport: Transport, url: str) -> Response:
    try:
        response = transport.get(
            url, headers={"Accept": ACCEPT, "Accept-Encoding": "gzip"}, limit=PAGE_LIMIT
        )
    except FetchError as e:
        raise IndexUnavailableError(e.message, path=url) from e
    if response.status == 404:
        raise ProjectNotFoundError("not found (404)", path=url)
    if not response.ok:
        raise IndexUnavailableError(f"HTTP {response.status}", path=url)
    return response


def _is_json(response: Response) -> bool:
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type:
        return content_type == JSON_TYPE
    return response.body.lstrip()[:1] == b"{"  # file:// answers have no type


class SimpleIndex:
    """One simple repository: ``https://pypi.org/simple/``, ``file:///opt/pypi/simple``."""

    def __init__(self, url: str, transport: Transport) -> None:
        self.url = url.rstrip("/") + "/"
        self._transport = transport

    @property
    def locations(self) -> tuple[str, ...]:
        return (self.url,)

    def project_files(self, name: str) -> ProjectFiles:
        canonical = canonicalize_name(name)
        url = f"{self.url}{quote(canonical)}/"
        response = _fetch(self._transport, url)
        try:
            if _is_json(response):
                files = json_files(response.body, response.url, self.url)
            else:
                anchors, base = html_anchors(response.body, response.url)
                files = files_from_anchors(anchors, base, self.url)
        except InvalidPageError as e:
            raise IndexUnavailableError(e.message, path=url) from e
        return ProjectFiles(canonical, tuple(files))

    def project_names(self) -> Iterator[str]:
        response = _fetch(self._transport, self.url)
        try:
            if _is_json(response):
                yield from json_projects(response.body, response.url)
                return
            anchors, _ = html_anchors(response.body, response.url)
        except InvalidPageError as e:
            raise IndexUnavailableError(e.message, path=self.url) from e
        yield from (a.text for a in anchors if a.text)


class FindLinks:
    """pip's ``--find-links``: a local directory of distributions, or a page of links to
    them. Read once, then answered from memory (it is one listing, not one per project)."""

    def __init__(self, location: str, transport: Transport) -> None:
        self.location = location
        self._transport = transport
        self._lock = threading.Lock()
        self._files: list[DistFile] | None = None

    @property
    def locations(self) -> tuple[str, ...]:
        return (self.location,)

    def _listing(self) -> list[DistFile]:
        with self._lock:
            if self._files is None:
                self._files = self._read()
            return self._files

    def _read(self) -> list[DistFile]:
        url = location_url(self.location)
        if urlsplit(url).scheme == "file":
            directory = Path(urlsplit(url).path)
            if directory.is_dir():
                return [
                    DistFile(p.name, p.as_uri(), size=p.stat().st_size, source=self.location)
                    for p in sorted(directory.iterdir())
                    if p.is_file()
                ]
        try:
            response = _fetch(self._transport, url)
            anchors, base = html_anchors(response.body, response.url)
        except (ProjectNotFoundError, InvalidPageError) as e:
            raise IndexUnavailableError(e.message, path=url) from e
        return files_from_anchors(anchors, base, self.location)

    def project_files(self, name: str) -> ProjectFiles:
        canonical = canonicalize_name(name)
        files = [f for f in self._listing() if _project_of(f) == canonical]
        if not files:
            raise ProjectNotFoundError("no files", path=self.location)
        return ProjectFiles(canonical, tuple(files))

    def project_names(self) -> Iterator[str]:
        names = (_project_of(f) for f in self._listing())
        yield from dict.fromkeys(n for n in names if n)


def _project_of(file: DistFile) -> str | None:
    parsed = file.name_and_version()
    return parsed[0] if parsed else None


@dataclass(frozen=True, slots=True)
class _Answer:
    files: tuple[DistFile, ...] = ()
    missing: bool = False
    problem: str | None = None


class MergedIndex:
    """Several sources answering as one, as pip merges ``index-url``, ``extra-index-url`` and
    ``find-links``: a project's files are the union of every source's (the first source listing
    a filename wins). A project no source knows is not found; a source that fails while others
    answer makes the answer partial (:attr:`ProjectFiles.problems`)."""

    def __init__(self, sources: Sequence[IndexClient]) -> None:
        self.sources = tuple(sources)

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(loc for s in self.sources for loc in s.locations)

    def project_files(self, name: str) -> ProjectFiles:
        answers = [self._ask(source, name) for source in self.sources]
        problems = tuple(a.problem for a in answers if a.problem)
        files: dict[str, DistFile] = {}
        for answer in answers:
            for file in answer.files:
                files.setdefault(file.filename, file)
        if not files:
            if problems:
                raise IndexUnavailableError("; ".join(problems))
            raise ProjectNotFoundError(f"not found on {', '.join(self.locations)}")
        return ProjectFiles(canonicalize_name(name), tuple(files.values()), problems)

    @staticmethod
    def _ask(source: IndexClient, name: str) -> _Answer:
        try:
            return _Answer(source.project_files(name).files)
        except ProjectNotFoundError:
            return _Answer(missing=True)
        except IndexUnavailableError as e:
            return _Answer(problem=str(e))

    def project_names(self) -> Iterator[str]:
        seen: set[str] = set()
        for source in self.sources:
            for name in source.project_names():
                canonical = canonicalize_name(name)
                if canonical not in seen:
                    seen.add(canonical)
                    yield name
