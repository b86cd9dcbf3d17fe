"""Reading the two forms of the simple repository API: PEP 503 HTML (anchors, with PEP 592's
``data-yanked`` and PEP 503's ``data-requires-python``) and PEP 691 JSON (API version 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from manywheel.errors import ManywheelError
from manywheel.survey.model import DistFile

__all__ = [
    "JSON_TYPE",
    "Anchor",
    "InvalidPageError",
    "files_from_anchors",
    "html_anchors",
    "json_files",
    "json_projects",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class InvalidPageError(ManywheelError):
    """An index page that is not valid PEP 503 HTML or PEP 691 JSON."""


@dataclass(frozen=True, slots=True)
class Anchor:
    href: str
    text: str
    attributes: dict[str, str | None]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[Anchor] = []
        self.base: str | None = None
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "base" and self.base is None and attributes.get("href"):
            self.base = attributes["href"]
        elif tag == "a" and attributes.get("href"):
            href = attributes["href"]
            assert href is not None
            self._open = (href, attributes)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            href, attributes = self._open
            self.anchors.append(Anchor(href, "".join(self._text).strip(), attributes))
            self._open = None


def html_anchors(body: bytes, page_url: str) -> tuple[list[Anchor], str]:
    """The anchors of an HTML page and the URL relative links resolve against."""
    parser = _Anchors()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except AssertionError as e:  # html.parser's way of giving up on hopeless markup
        raise InvalidPageError(f"unreadable HTML: {e}", path=page_url) from e
    base = urljoin(page_url, parser.base) if parser.base else page_url
    return parser.anchors, base


def files_from_anchors(anchors: list[Anchor], base: str, source: str) -> list[DistFile]:
    """PEP 503 file links: the filename from the URL's last part, the sha256 fragment, PEP
    592's yanked flag and ``data-requires-python``."""
    files = []
    for anchor in anchors:
        url, fragment = urldefrag(urljoin(base, anchor.href))
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not filename:
            continue
        algorithm, _, value = fragment.partition("=")
        sha256 = value.lower() if algorithm == "sha256" and _is_hex(value, 64) else None
        files.append(
            DistFile(
                filename,
                url,
                sha256=sha256,
                requires_python=anchor.attributes.get("data-requires-python") or None,
                yanked="data-yanked" in anchor.attributes,
                source=source,
            )
        )
    return files


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


def _document(body: bytes, page_url: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidPageError(f"invalid JSON: {e}", path=page_url) from e
    if not isinstance(document, dict):
        raise InvalidPageError("a PEP 691 page must be a JSON object", path=page_url)
    meta = document.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or not version.startswith("1."):
        raise InvalidPageError(f"unsupported simple API version {version!r}", path=page_url)
    return document


def json_projects(body: bytes, page_url: str) -> list[str]:
    """The project names of a PEP 691 index root."""
    projects = _document(body, page_url).get("projects")
    if not isinstance(projects, list):
        raise InvalidPageError("'projects' is not a list", path=page_url)
    return [p["name"] for p in projects if isinstance(p, dict) and isinstance(p.get("name"), str)]


def json_files(body: bytes, page_url: str, source: str) -> list[DistFile]:
    """The files of a PEP 691 project page."""
    entries = _document(body, page_url).get("files")
    if not isinstance(entries, list):
        raise InvalidPageError("'files' is not a list", path=page_url)
    files = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidPageError("a file entry is not an object", path=page_url)
        filename, url = entry.get("filename"), entry.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            raise InvalidPageError("a file entry lacks 'filename' or 'url'", path=page_url)
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        size = entry.get("size")
        requires = entry.get("requires-python")
        files.append(
            DistFile(
                filename,
                urldefrag(urljoin(page_url, url))[0],
                sha256=sha256.lower() if isinstance(sha256, str) and _is_hex(sha256, 64) else None,
                size=size if isinstance(size, int) and size >= 0 else None,
                requires_python=requires if isinstance(requires, str) and requires else None,
                yanked=bool(entry.get("yanked")),
                source=source,
            )
        )
    return files
