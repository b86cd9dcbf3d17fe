"""``multipart/form-data`` bodies (RFC 7578) for the upload API: form fields, then the file,
streamed from disk in chunks with the total length known before the first byte is sent."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

from manywheel.values import value_class

__all__ = ["MultipartBody"]

_CHUNK = 1 << 20


def _quote(value: str) -> str:
    """A header parameter value, as browsers (and requests/urllib3) write it."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@value_class
class MultipartBody:
    fields: Sequence[tuple[str, str]]
    file_field: str
    file_path: Path
    file_name: str
    boundary: str = ""

    @classmethod
    def build(
        cls, fields: Sequence[tuple[str, str]], file_field: str, file_path: Path, file_name: str
    ) -> MultipartBody:
        return cls(tuple(fields), file_field, file_path, file_name, secrets.token_hex(16))

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self) -> bytes:
        parts = []
        for name, value in self.fields:
            parts.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"'
                f"\r\n\r\n{value}\r\n"
            )
        field, name = _quote(self.file_field), _quote(self.file_name)
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}";'
            f' filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        return "".join(parts).encode("utf-8")

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode("ascii")

    def length(self) -> int:
        return len(self._head()) + self.file_path.stat().st_size + len(self._tail())

    def chunks(self) -> Iterator[bytes]:
        yield self._head()
        with self.file_path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk
        yield self._tail()
