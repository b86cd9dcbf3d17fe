"""``RECORD``: one CSV row per file, ``path,algorithm=urlsafe-b64-digest,size``."""

from __future__ import annotations

import binascii
import csv
import io
from collections.abc import Iterable

from manywheel.errors import InvalidWheelError
from manywheel.values import value_class

__all__ = ["Record", "RecordEntry", "encode_hash", "parse_record", "render_record"]

#: Hash algorithms the binary distribution format allows in RECORD (sha256 or stronger).
STRONG_ALGORITHMS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"})


@value_class
class RecordEntry:
    """One RECORD row. ``algorithm``/``digest`` are None for an unhashed row (RECORD itself)."""

    path: str
    algorithm: str | None
    digest: bytes | None
    size: int | None
    line: int

    @property
    def hash_text(self) -> str:
        """The hash column as written: ``sha256=…`` or empty."""
        if self.algorithm is None or self.digest is None:
            return ""
        return encode_hash(self.algorithm, self.digest)


@value_class
class Record:
    entries: tuple[RecordEntry, ...]

    def by_path(self) -> dict[str, RecordEntry]:
        """Entries keyed by path; on duplicates the first row wins (verify reports the rest)."""
        table: dict[str, RecordEntry] = {}
        for entry in self.entries:
            table.setdefault(entry.path, entry)
        return table


def encode_hash(algorithm: str, digest: bytes) -> str:
    # urlsafe_b64encode's meaning, without its per-call overhead (RECORD has a row per file)
    encoded = binascii.b2a_base64(digest, newline=False).rstrip(b"=").translate(_URLSAFE)
    return f"{algorithm}={encoded.decode('ascii')}"


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _decode_hash(text: str, member: str, line: int) -> tuple[str | None, bytes | None]:
    if not text:
        return None, None
    algorithm, sep, encoded = text.partition("=")
    if not sep or not algorithm:
        raise InvalidWheelError(f"line {line}: bad hash {text!r}", member=member)
    try:
        # urlsafe_b64decode's meaning, without its per-call overhead (RECORD has a row per file)
        standard = encoded.replace("-", "+").replace("_", "/")
        digest = binascii.a2b_base64(standard + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as e:
        raise InvalidWheelError(f"line {line}: bad hash encoding {text!r}", member=member) from e
    return algorithm, digest


def _size(text: str, member: str, line: int) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise InvalidWheelError(f"line {line}: bad size {text!r}", member=member)
    return int(text)


def parse_record(text: str, *, member: str = "RECORD") -> Record:
    """Parse RECORD text. Raises :class:`InvalidWheelError` naming the line of a malformed row."""
    entries: list[RecordEntry] = []
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise InvalidWheelError(f"not valid CSV: {e}", member=member) from e
    for line, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) != 3:
            raise InvalidWheelError(
                f"line {line}: expected 3 fields, found {len(row)}", member=member
            )
        algorithm, digest = _decode_hash(row[1], member, line)
        entries.append(RecordEntry(row[0], algorithm, digest, _size(row[2], member, line), line))
    return Record(tuple(entries))


def render_record(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """RECORD bytes for ``(path, hash, size)`` rows, ``\\n``-terminated, UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
