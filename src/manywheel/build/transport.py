"""A small HTTP(S) client on the standard library, for talking to one package index: streamed
request bodies (a wheel is never read into memory whole), bounded responses, timeouts, Basic
authentication sent only to the index's own origin, redirects followed only within it, TLS
with the system's certificates or a given CA bundle and client certificate.

The password never appears in anything this module raises or logs: URLs are printed without
their user information and the ``Authorization`` header is not logged.
"""

from __future__ import annotations

import base64
import html
import http.client
import json
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from urllib.parse import urljoin, urlsplit, urlunsplit

from manywheel.errors import ToolError
from manywheel.values import value_class

__all__ = ["MAX_RESPONSE_BYTES", "Response", "Transport", "TransportError", "display_url"]

logger = logging.getLogger(__name__)

#: A response body bigger than this is cut (an index page of a big project is a few MiB).
MAX_RESPONSE_BYTES = 64 * 2**20
_CHUNK = 1 << 16


class TransportError(ToolError):
    """The index could not be reached, or answered in a way that cannot be used (exit 4)."""


@value_class
class Response:
    url: str
    status: int
    reason: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def message(self) -> str:
        """The server's own words for an error: its reason phrase, and the detail its body
        gives (a ``<pre>`` block of an HTML page, a JSON ``message``/``detail``/``error``, the
        first line of plain text), shortened."""
        words = [self.reason] if self.reason else []
        detail = _detail(self.body[:8192].decode("utf-8", errors="replace"), self.header)
        if detail and detail not in words:
            words.append(detail)
        joined = ": ".join(words) or f"HTTP {self.status}"
        return joined if len(joined) <= 300 else joined[:297] + "..."


def _detail(text: str, header: Callable[[str], str | None]) -> str:
    kind = (header("content-type") or "").split(";")[0].strip().lower()
    if kind.endswith("json"):
        try:
            document = json.loads(text)
        except ValueError:
            return ""
        return _json_message(document)
    if kind == "text/html" or text.lstrip().startswith("<"):
        match = re.search(r"(?is)<pre[^>]*>(.*?)</pre>", text)
        inner = html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""
        return "" if inner in ("", "None") else " ".join(inner.split())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _json_message(document: object) -> str:
    if isinstance(document, dict):
        for key in ("message", "detail", "error", "errors"):
            if key in document:
                return _json_message(document[key])
    if isinstance(document, list) and document:
        return _json_message(document[0])
    return document if isinstance(document, str) else ""


def display_url(url: str) -> str:
    """``url`` without user information (never print a password)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


class Transport:
    """Requests to one index. ``username``/``password`` are sent (Basic) to ``origin_url``'s
    scheme, host and port only."""

    def __init__(
        self,
        origin_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_cert: str | None = None,
        client_cert: str | None = None,
        timeout: float = 60.0,
        user_agent: str = "manywheel",
    ) -> None:
        self._origin = _origin(origin_url)
        self._authorization = None
        if username is not None or password is not None:
            token = f"{username or ''}:{password or ''}".encode()
            self._authorization = "Basic " + base64.b64encode(token).decode("ascii")
        self._ca_cert = ca_cert
        self._client_cert = client_cert
        self._context: ssl.SSLContext | None = None
        self.timeout = timeout
        self.user_agent = user_agent

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                context = ssl.create_default_context(cafile=self._ca_cert)
                if self._client_cert:
                    context.load_cert_chain(self._client_cert)
            except (OSError, ssl.SSLError) as e:
                where = self._client_cert if self._client_cert else self._ca_cert
                raise TransportError(f"cannot load certificates: {e}", path=where) from e
            self._context = context
        return self._context

    def _connection(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"{display_url(url)}: not an http(s) URL")
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=self._ssl_context()
            )
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        length: int | None = None,
    ) -> Response:
        """One request; the response as it comes (redirects are not followed)."""
        parts = urlsplit(url)
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        sent = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", **(headers or {})}
        if self._authorization and _origin(url) == self._origin:
            sent["Authorization"] = self._authorization
        if length is not None:
            sent["Content-Length"] = str(length)
        logger.debug("%s %s", method, display_url(url))
        connection = self._connection(url)
        try:
            try:
                connection.request(method, target, body=body, headers=sent)
            except (BrokenPipeError, ConnectionResetError):
                # the server answered before reading the whole body (a refusal): read it
                logger.debug("%s %s: the server closed early", method, display_url(url))
            answer = connection.getresponse()
            data = answer.read(MAX_RESPONSE_BYTES + 1)[:MAX_RESPONSE_BYTES]
            received = {k.lower(): v for k, v in answer.getheaders()}
            logger.debug("%s %s: %d %s", method, display_url(url), answer.status, answer.reason)
            return Response(url, answer.status, answer.reason, received, data)
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(f"{display_url(url)}: cannot reach the index: {_why(e)}") from e
        finally:
            connection.close()

    def get(self, url: str, *, accept: str, max_redirects: int = 5) -> Response:
        """GET, following redirects that stay on the index's own origin."""
        for _ in range(max_redirects + 1):
            response = self.request("GET", url, headers={"Accept": accept})
            location = response.header("location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return response
            following = urljoin(url, location)
            if _origin(following) != _origin(url):
                logger.info("%s redirects to another site: not followed", display_url(url))
                return response
            url = following
        raise TransportError(f"{display_url(url)}: too many redirects")


def _why(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({error.verify_message})"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text)
