"""Which files a package index already has for a project: its simple index page (PEP 691 JSON
or PEP 503 HTML), each file's name and, when the index gives it, its sha256. An upload asks
this first, so a re-run uploads nothing and a file the index has with other bytes is named."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from posixpath import basename
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from manywheel.build.transport import Response, Transport, display_url

__all__ = ["files_on_index", "simple_index_for"]

_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)

#: Upload endpoints whose simple index is elsewhere.
_KNOWN = {
    "upload.pypi.org": "https://pypi.org/simple/",
    "test.pypi.org": "https://test.pypi.org/simple/",
}


def simple_index_for(upload_url: str) -> str:
    """The simple index next to an upload URL: pypi.org's for PyPI's, ``…/simple/`` in place of
    a final ``legacy/`` (Warehouse, devpi-like), else ``simple/`` below it (pypiserver)."""
    parts = urlsplit(upload_url)
    known = _KNOWN.get((parts.hostname or "").lower())
    if known is not None:
        return known
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    path = path[: -len("legacy/")] + "simple/" if path.endswith("/legacy/") else path + "simple/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _from_html(body: bytes) -> dict[str, str | None]:
    parser = _Links()
    parser.feed(body.decode("utf-8", errors="replace"))
    files: dict[str, str | None] = {}
    for href, text in parser.links:
        parts = urlsplit(href)
        name = unquote(basename(parts.path)) or text
        digest = None
        if parts.fragment.startswith("sha256="):
            digest = parts.fragment[len("sha256=") :].lower()
        files[name] = digest
    return files


def _from_json(body: bytes) -> dict[str, str | None] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    entries = document.get("files") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    files: dict[str, str | None] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
            hashes = entry.get("hashes") if isinstance(entry.get("hashes"), dict) else {}
            digest = hashes.get("sha256") if hashes else None
            files[entry["filename"]] = digest.lower() if isinstance(digest, str) else None
    return files


def files_on_index(
    transport: Transport, index_url: str, project: str
) -> tuple[dict[str, str | None] | None, str]:
    """The project's files on the index (name -> sha256 or ``None``), or ``None`` when the index
    cannot say (no simple index there, an error): with why, for the log."""
    url = urljoin(index_url if index_url.endswith("/") else index_url + "/",
                  f"{canonicalize_name(project)}/")  # fmt: skip
    response = transport.get(url, accept=_ACCEPT)
    if response.status == 404:
        return {}, f"{display_url(url)}: no such project yet"
    if response.status in (301, 302, 303, 307, 308):  # pypiserver's fallback to another index
        return {}, f"{display_url(url)}: not on this index (redirected elsewhere)"
    if response.status != 200:
        return None, f"{display_url(url)}: HTTP {response.status} {response.message}"
    return _parse(response), display_url(url)


def _parse(response: Response) -> dict[str, str | None] | None:
    content_type = (response.header("content-type") or "").split(";")[0].strip().lower()
    if content_type.endswith("+json") or content_type == "application/json":
        return _from_json(response.body)
    return _from_html(response.body)
