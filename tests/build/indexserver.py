"""Real index servers on the loopback interface for the upload tests.

* :func:`pypiserver` — the ``pypiserver`` package (a test dependency) on 127.0.0.1 and a free
  port, with authentication on for uploads, downloads and listings (an htpasswd file), no
  fallback to another index; its process is stopped by its id afterwards.
* :class:`Recorder` — a tiny HTTP server in a thread that answers uploads from a script of
  status codes and keeps every request it received (to read what a client sends, and to answer
  with 5xx or redirects a real index gives only under load).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.availability import require

__all__ = ["IndexServer", "RecordedRequest", "Recorder", "pypiserver"]

USERNAME = "alice"
PASSWORD = "s3cret-Pa55word"


@dataclass(frozen=True)
class IndexServer:
    url: str
    root: Path
    username: str = USERNAME
    password: str = PASSWORD

    @property
    def simple(self) -> str:
        return f"{self.url}simple/"

    def files(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _missing() -> list[str]:
    return [
        f"{module} is not installed (the test dependency group has it)"
        for module in ("pypiserver", "passlib")
        if importlib.util.find_spec(module) is None
    ]


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    host, port = url.split("//")[1].rstrip("/").split(":")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pypiserver exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"pypiserver did not start in 30 s: {log.read_text(errors='replace')}")


@contextlib.contextmanager
def pypiserver(directory: Path) -> Iterator[IndexServer]:
    """A pypiserver serving ``directory/packages`` with authentication on."""
    require(_missing())
    root = directory / "packages"
    root.mkdir(parents=True)
    # Apache's {SHA} scheme, which pypiserver checks with passlib
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (directory / "htpasswd").write_text(f"{USERNAME}:{{SHA}}{digest}\n", encoding="ascii")
    port = _free_port()
    log = directory / "pypiserver.log"
    argv = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
            "-P", str(directory / "htpasswd"), "-a", "update,download,list",
            "--disable-fallback", str(root)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(url, process, log)
        yield IndexServer(url, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Recorder:
    """Answers each POST with the next ``(status, headers, body)`` of ``posts`` (the last one
    repeats) and each GET with ``get``; records every request."""

    posts: list[Answer]
    get: Answer = (404, {}, b"Not Found")
    requests: list[RecordedRequest] = field(default_factory=list)
    url: str = ""

    @property
    def uploads(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    @contextlib.contextmanager
    def running(self) -> Iterator[Recorder]:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                if self.command == "POST":
                    index = min(len(recorder.uploads), len(recorder.posts)) - 1
                    status, headers, payload = recorder.posts[index]
                else:
                    status, headers, payload = recorder.get
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
