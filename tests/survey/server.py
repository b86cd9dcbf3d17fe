"""A real HTTP server on the loopback interface for the survey's tests: it serves a directory (a
PEP 503 index of HTML pages and the files they link), answers single byte ranges with 206 (or,
with ranges turned off, ignores them and sends the whole file with 200, as many servers do),
converts index pages to PEP 691 JSON when the client prefers it, and counts what it sent.

``python -m http.server`` cannot do this: it ignores Range headers altogether. Written here, on
``http.server`` and the standard library only, so the survey's own parsing is not used to serve
what it parses (the JSON conversion has its own small HTML reader).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

__all__ = ["Fault", "IndexServer", "serve"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Fault:
    """A misbehaviour for one path: an HTTP status (with a Retry-After), for the first ``times``
    requests; or a body cut short after ``truncate`` bytes."""

    status: int | None = None
    retry_after: str | None = None
    times: int = 1_000_000
    truncate: int | None = None
    #: Seconds to wait before answering (a slow server).
    delay: float = 0.0


@dataclass
class IndexServer:
    root: Path
    ranges: bool = True
    json: bool = True
    url: str = ""
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Paths asked for, as the requests arrive (before any delay).
    arrived: list[str] = field(default_factory=list)
    #: Index pages answered as PEP 691 JSON / as HTML.
    json_pages: int = 0
    html_pages: int = 0

    @property
    def bytes_sent(self) -> int:
        with self.lock:
            return sum(n for _, _, n in self.requests)

    def sent_for(self, suffix: str) -> tuple[int, int]:
        """Requests and body bytes sent for paths ending with ``suffix``."""
        with self.lock:
            hits = [n for path, _, n in self.requests if path.endswith(suffix)]
        return len(hits), sum(hits)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, dict[str, str | None]]] = []
        self._href: tuple[str, dict[str, str | None]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            found = dict(attrs)
            self._href = (found.get("href") or "", found)

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links.append((self._href[0], data.strip(), self._href[1]))
            self._href = None


def _as_json(page: bytes, is_root: bool, directory: Path) -> bytes:
    links = _Links()
    links.feed(page.decode())
    if is_root:
        projects = [{"name": text} for _, text, _ in links.links]
        return json.dumps({"meta": {"api-version": "1.1"}, "projects": projects}).encode()
    files = []
    for href, text, attrs in links.links:
        url, fragment = urldefrag(href)
        hashes = dict([fragment.split("=", 1)]) if "=" in fragment else {}
        entry: dict[str, object] = {"filename": text, "url": url, "hashes": hashes}
        served = (directory / url).resolve()
        if served.is_file():
            entry["size"] = served.stat().st_size
        if attrs.get("data-requires-python"):
            entry["requires-python"] = attrs["data-requires-python"]
        files.append(entry)
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "x", "files": files}).encode()


def _handler(server: IndexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add 40 ms to every answer on a kept-alive connection
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            with server.lock:
                server.arrived.append(path)
            fault = server.faults.get(path)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and fault.status is not None and fault.times > 0:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send(fault.status, b"fault", headers)
                return
            target = (server.root / path.lstrip("/")).resolve()
            if not target.is_relative_to(server.root.resolve()):
                self._send(403, b"outside the root", {})
                return
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                self._send(404, b"not found", {})
                return
            if target.name == "index.html":
                body = target.read_bytes()
                wants_json = JSON_TYPE in (self.headers.get("Accept") or "")
                if server.json and wants_json:
                    is_root = target.parent.resolve() == server.root.resolve() / "simple"
                    page = _as_json(body, is_root, target.parent)
                    self._send(200, page, {"Content-Type": JSON_TYPE})
                    with server.lock:
                        server.json_pages += 1
                else:
                    self._send(200, body, {"Content-Type": "text/html"})
                    with server.lock:
                        server.html_pages += 1
                return
            wanted = self.headers.get("Range")
            if wanted and server.ranges:
                self._ranged(target, wanted, fault)
            else:
                self._send(200, target.read_bytes(), {"Accept-Ranges": "none"}, fault)

        def _ranged(self, target: Path, header: str, fault: Fault | None) -> None:
            spec = header.removeprefix("bytes=")
            first, _, last = spec.partition("-")
            size = target.stat().st_size
            if not first:
                start, end = max(0, size - int(last)), size
            else:
                start = int(first)
                end = min(size, int(last) + 1) if last else size
            if start >= size or start >= end:
                self._send(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            headers = {"Content-Range": f"bytes {start}-{end - 1}/{size}", "Accept-Ranges": "bytes"}
            with target.open("rb") as f:
                f.seek(start)
                body = f.read(end - start)
            self._send(206, body, headers, fault)

        def _send(
            self, status: int, body: bytes, headers: dict[str, str], fault: Fault | None = None
        ) -> None:
            cut = fault.truncate if fault is not None else None
            sent = body if cut is None else body[:cut]
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if cut is not None:
                self.send_header("Connection", "close")
            with server.lock:  # before the answer goes out: the client may count it at once
                server.requests.append(
                    (urlsplit(self.path).path, self.headers.get("Range"), len(sent))
                )
            self.end_headers()
            self.wfile.write(sent)
            if cut is not None:
                self.close_connection = True

    return Handler


@contextmanager
def serve(root: Path, *, ranges: bool = True, json: bool = True) -> Iterator[IndexServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) while the block runs."""
    state = IndexServer(root, ranges=ranges, json=json)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="index-server", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
