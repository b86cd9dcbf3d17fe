"""Audit results kept between surveys, keyed by the wheel's sha256: a re-run audits only wheels it
has not seen.

One JSON file per wheel under ``<cache>/survey/audits/v<record version>/<fingerprint>/``; the
fingerprint covers what else decides an audit's result (manywheel's version, the policies,
the audit options). Entries are written to a temporary file and renamed into place, so a
reader never sees half of one; an entry that does not read back as a valid record of the same
wheel (truncated, edited, another version) is ignored and replaced. Failed audits are not kept
(a network error is not a property of the wheel). The libraries of the system the audit
resolves against are not in the fingerprint: after changing them, use a fresh cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from manywheel.audit import AuditOptions
from manywheel.survey.audit_record import AUDIT_RECORD_VERSION, WheelAudit

__all__ = ["AuditCache", "audit_fingerprint"]

logger = logging.getLogger(__name__)

#: The biggest cache entry read (a record is a few KB).
_MAX_ENTRY = 4 * 2**20


def audit_fingerprint(version: str, options: AuditOptions, policy_files: Iterable[str]) -> str:
    """What besides the wheel decides an audit's result, hashed."""
    digest = hashlib.sha256()
    digest.update(f"manywheel {version}\nrecord {AUDIT_RECORD_VERSION}\n".encode())
    digest.update(repr(options).encode())
    for name in policy_files:
        digest.update(b"\npolicy ")
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:24]


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


class AuditCache:
    """Audit records by sha256 under ``directory`` (the user's cache directory, passed in)."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory / "survey" / "audits" / f"v{AUDIT_RECORD_VERSION}" / fingerprint
        self.fingerprint = fingerprint

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str | None, filename: str, url: str) -> WheelAudit | None:
        """The cached audit of the wheel with this sha256 (renamed to ``filename`` and ``url``
        as this index serves it), or ``None``."""
        if sha256 is None or not _is_sha256(sha256):
            return None
        path = self._path(sha256)
        try:
            record = self._read(path, sha256)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            logger.info("ignoring the cache entry %s: %s", path, e)
            return None
        return replace(record, filename=filename, url=url, bytes_fetched=0, cached=True)

    def _read(self, path: Path, sha256: str) -> WheelAudit:
        with path.open("rb") as f:
            raw = f.read(_MAX_ENTRY + 1)
        if len(raw) > _MAX_ENTRY:
            raise ValueError("too big for an audit record")
        data = json.loads(raw)
        if data.get("sha256") != sha256 or data.get("fingerprint") != self.fingerprint:
            raise ValueError("another wheel's or fingerprint's entry")
        record = WheelAudit.from_json(data["record"])
        if record.sha256 != sha256 or record.error is not None:
            raise ValueError("not this wheel's successful audit")
        return record

    def put(self, audit: WheelAudit) -> None:
        """Keep a successful audit (failures are not kept). Never raises for a cache that
        cannot be written: the survey goes on without it."""
        if audit.error is not None or audit.sha256 is None or not _is_sha256(audit.sha256):
            return
        path = self._path(audit.sha256)
        document = {
            "sha256": audit.sha256,
            "fingerprint": self.fingerprint,
            "record": audit.to_json(),
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(document, f)
                Path(temp).replace(path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as e:
            logger.info("cannot write the cache entry %s: %s", path, e)
