"""Fetching URLs politely: ``file://`` and ``http(s)://``, with keep-alive connections, a limit on
requests in flight, retries with exponential backoff that honour ``Retry-After``, byte limits,
and a count of the bytes received.

The standard library's ``http.client`` does the HTTP (no dependency); connections are kept per
host and reused. Non-2xx answers are returned as they are (a 404 is the index's answer, not an
error); only a failure to get any answer — after the retries — raises :class:`FetchError`.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import random
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit

from manywheel.errors import ManywheelError

__all__ = [
    "FetchError",
    "FileTransport",
    "HttpTransport",
    "Response",
    "Sink",
    "Transport",
    "TransportConfig",
    "UrlTransport",
]

logger = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_CHUNK = 1 << 16


class FetchError(ManywheelError):
    """A URL could not be fetched: unreachable, timed out, too big, or an answer that breaks
    the protocol. ``path`` is the URL."""


@dataclass(frozen=True, slots=True)
class Response:
    #: The URL that answered (after redirects).
    url: str
    status: int
    #: Header names in lower case.
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """How to fetch. Plain values, so a worker process or a Dask worker can build the same
    transport from it."""

    #: Seconds to wait on a socket (connect, each read).
    timeout: float = 30.0
    #: Seconds a whole request may take (a server dripping bytes is cut off).
    deadline: float = 600.0
    #: Attempts after the first, on connection errors and 429/5xx answers.
    retries: int = 3
    #: The first backoff in seconds; doubled per attempt, with jitter.
    backoff: float = 0.5
    #: The longest ``Retry-After`` honoured; a longer one is cut to this.
    max_retry_after: float = 60.0
    #: Requests in flight at once, per transport.
    concurrency: int = 8
    #: CA bundle for HTTPS (pip's ``cert``); ``None``: the system's.
    cafile: str | None = None
    user_agent: str = "manywheel-survey"


class Sink(Protocol):
    """Where a download's body goes (a binary file opened for writing will do)."""

    def write(self, data: bytes, /) -> int: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def truncate(self, size: int | None = None, /) -> int: ...

    def tell(self) -> int: ...


class Transport(Protocol):
    """Fetches URLs. Thread-safe."""

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, limit: int) -> Response:
        """The answer to a GET of ``url``; a body over ``limit`` bytes raises FetchError."""
        ...

    def download(
        self, url: str, sink: Sink, *, headers: Mapping[str, str] | None = None, limit: int
    ) -> Response:
        """A GET whose body is written to ``sink`` (the returned body is empty). ``sink`` is
        rewound and truncated before a retry."""
        ...

    @property
    def bytes_received(self) -> int:
        """Body bytes received so far (compressed size for compressed answers)."""
        ...


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


class FileTransport:
    """``file://`` URLs: a directory answers with its ``index.html`` (as pip reads a local
    index); ``Range`` is honoured (206), a missing file is a 404."""

    def __init__(self) -> None:
        self._received = _Counter()

    @property
    def bytes_received(self) -> int:
        return self._received.value

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, limit: int) -> Response:
        path = _file_path(url)
        if path.is_dir():
            path = path / "index.html"
        try:
            size = path.stat().st_size
            wanted = _parse_range((headers or {}).get("Range"), size)
            start, end = wanted if wanted is not None else (0, size)
            if end - start > limit:
                raise FetchError(
                    f"answer of {end - start} bytes is over the limit of {limit}", path=url
                )
            with path.open("rb") as f:
                f.seek(start)
                body = f.read(end - start)
        except (FileNotFoundError, NotADirectoryError):
            return Response(url, 404, {}, b"")
        except (IsADirectoryError, PermissionError) as e:
            raise FetchError(f"cannot read: {e.strerror}", path=url) from e
        self._received.add(len(body))
        if wanted is None:
            return Response(url, 200, {"content-length": str(size)}, body)
        content_range = f"bytes {start}-{end - 1}/{size}"
        return Response(url, 206, {"content-range": content_range}, body)

    def download(
        self, url: str, sink: Sink, *, headers: Mapping[str, str] | None = None, limit: int
    ) -> Response:
        response = self.get(url, headers=headers, limit=limit)
        if response.ok:
            sink.write(response.body)
        return Response(response.url, response.status, response.headers, b"")


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchError("file URLs on another host are not supported", path=url)
    return Path(unquote(parts.path))


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a single ``bytes=`` range (suffix ranges too); ``None``: no range."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].partition("-")
    if not first:
        return max(0, size - int(last)), size
    start = int(first)
    end = size if not last else min(size, int(last) + 1)
    return min(start, size), end


@dataclass
class _Pool:
    """Idle keep-alive connections per (scheme, host, port)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = field(default_factory=dict)


class HttpTransport:
    """``http://`` and ``https://`` with keep-alive, a concurrency limit, retries, backoff and
    ``Retry-After``. Sleeps go through ``sleep`` (tests pass a recorder)."""

    def __init__(
        self, config: TransportConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, config.concurrency))
        self._pool = _Pool()
        self._received = _Counter()
        self._ssl: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()

    @property
    def bytes_received(self) -> int:
        return self._received.value

    def close(self) -> None:
        with self._pool.lock:
            idle, self._pool.idle = self._pool.idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, limit: int) -> Response:
        return self._request(url, dict(headers or {}), limit, None)

    def download(
        self, url: str, sink: Sink, *, headers: Mapping[str, str] | None = None, limit: int
    ) -> Response:
        return self._request(url, dict(headers or {}), limit, sink)

    def _request(
        self, url: str, headers: dict[str, str], limit: int, sink: Sink | None
    ) -> Response:
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._with_retries(url, headers, limit, sink)
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                return response
            url = urljoin(url, location)
        raise FetchError(f"more than {_MAX_REDIRECTS} redirects", path=url)

    def _with_retries(
        self, url: str, headers: dict[str, str], limit: int, sink: Sink | None
    ) -> Response:
        attempt = 0
        while True:
            if sink is not None:  # a retried download starts again from nothing
                sink.seek(0)
                sink.truncate()
            try:
                response = self._once(url, headers, limit, sink)
            except (OSError, http.client.HTTPException) as e:
                if attempt >= self.config.retries:
                    raise FetchError(f"cannot fetch: {_reason(e)}", path=url) from e
                delay = self._backoff(attempt)
                logger.info("%s: %s; retrying in %.1f s", url, _reason(e), delay)
            else:
                if response.status not in _RETRY_STATUSES or attempt >= self.config.retries:
                    return response
                delay = self._retry_after(response) or self._backoff(attempt)
                logger.info("%s: HTTP %d; retrying in %.1f s", url, response.status, delay)
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        base: float = self.config.backoff * 2.0**attempt
        jitter = 1.0 + random.random() / 2
        return min(base * jitter, self.config.max_retry_after)

    def _retry_after(self, response: Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value) if value else None
            if when is None:
                return None
            seconds = when.timestamp() - time.time()
        return max(0.0, min(seconds, self.config.max_retry_after))

    def _once(self, url: str, headers: dict[str, str], limit: int, sink: Sink | None) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("not an http(s) URL", path=url)
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        sent = {"User-Agent": self.config.user_agent, "Accept-Encoding": "identity", **headers}
        with self._slots:
            connection = self._connection(key)
            try:
                connection.request("GET", target, headers=sent)
                answer = connection.getresponse()
                body = self._read(answer, url, limit, sink)
            except BaseException:
                connection.close()
                raise
            if answer.will_close:
                connection.close()
            else:
                self._release(key, connection)
        received = {k.lower(): v for k, v in answer.getheaders()}
        if received.get("content-encoding") == "gzip" and sink is None:
            body = _gunzip(body, limit, url)
        return Response(url, answer.status, received, body)

    def _read(
        self, answer: http.client.HTTPResponse, url: str, limit: int, sink: Sink | None
    ) -> bytes:
        started = time.monotonic()
        parts: list[bytes] = []
        total = 0
        while chunk := answer.read(_CHUNK):
            total += len(chunk)
            self._received.add(len(chunk))
            if total > limit:
                raise FetchError(f"answer is over the limit of {limit} bytes", path=url)
            if time.monotonic() - started > self.config.deadline:
                raise FetchError(f"answer took over {self.config.deadline:.0f} s", path=url)
            if sink is None:
                parts.append(chunk)
            else:
                sink.write(chunk)
        declared = answer.getheader("Content-Length")
        if declared is not None and declared.isdigit() and total < int(declared):
            raise http.client.IncompleteRead(b"", int(declared) - total)
        return b"".join(parts)

    def _connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        with self._pool.lock:
            idle = self._pool.idle.get(key)
            if idle:
                return idle.pop()
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=self.config.timeout, context=self._context()
            )
        return http.client.HTTPConnection(host, port, timeout=self.config.timeout)

    def _release(self, key: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._pool.lock:
            self._pool.idle.setdefault(key, []).append(connection)

    def _context(self) -> ssl.SSLContext:
        with self._ssl_lock:
            if self._ssl is None:
                self._ssl = ssl.create_default_context(cafile=self.config.cafile)
            return self._ssl


def _gunzip(body: bytes, limit: int, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as e:
        raise FetchError(f"corrupt gzip answer: {e}", path=url) from e
    if len(out) > limit:
        raise FetchError(f"answer inflates past the limit of {limit} bytes", path=url)
    return out


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, http.client.IncompleteRead):
        return f"the connection closed {error.expected} bytes before the answer's end"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


class UrlTransport:
    """``file://`` to a :class:`FileTransport`, ``http(s)://`` to an :class:`HttpTransport`."""

    def __init__(self, config: TransportConfig, **http_options: Callable[[float], None]) -> None:
        self.config = config
        self.files = FileTransport()
        self.http = HttpTransport(config, **http_options)

    @property
    def bytes_received(self) -> int:
        return self.files.bytes_received + self.http.bytes_received

    def _for(self, url: str) -> Transport:
        scheme = urlsplit(url).scheme
        if scheme == "file":
            return self.files
        if scheme in ("http", "https"):
            return self.http
        raise FetchError(f"unsupported URL scheme {scheme!r}", path=url)

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, limit: int) -> Response:
        return self._for(url).get(url, headers=headers, limit=limit)

    def download(
        self, url: str, sink: Sink, *, headers: Mapping[str, str] | None = None, limit: int
    ) -> Response:
        return self._for(url).download(url, sink, headers=headers, limit=limit)

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.http.close()

    def __enter__(self) -> UrlTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
