"""``upload_wheels``: publish checked wheels to a package index, all or nothing.

1. Every wheel is checked first (:func:`~manywheel.build.check_wheel`). If one fails, nothing is
   uploaded — unless ``skip_failed``, and then the others are.
2. The index's simple page of each project is read: a file already there with the same sha256
   is skipped (a re-run uploads nothing); one there with other bytes is named, never replaced.
3. Each remaining wheel is sent with the upload API twine speaks (Warehouse's "legacy" API): a
   ``multipart/form-data`` POST with ``:action=file_upload``, ``protocol_version=1``, the
   metadata fields, the file's sha256 and blake2b-256 digests and the file itself. The index
   answering that the file exists (409, or 400 "already exists") counts as already there. A
   5xx answer is retried; a redirect is not followed (as twine); any other refusal stops the
   run with the URL, the status and the server's words.

Nothing here prints; the CLI renders the :class:`UploadReport` (and ``on_result`` streams it).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from manywheel.audit import AuditOptions
from manywheel.build.check import CheckResult, check_wheel
from manywheel.build.credentials import Repository
from manywheel.build.multipart import MultipartBody
from manywheel.build.simple_index import files_on_index, simple_index_for
from manywheel.build.transport import Response, Transport, TransportError, display_url
from manywheel.errors import ManywheelError, ToolError
from manywheel.policy import PolicySet
from manywheel.values import value_class
from manywheel.wheel import WheelFilename

__all__ = ["Outcome", "UploadError", "UploadReport", "WheelUpload", "upload_wheels"]

logger = logging.getLogger(__name__)

#: RawMetadata keys -> upload form fields (twine's names; Warehouse's ``parse_form_metadata``).
FORM_FIELDS = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "platforms": "platform",
    "summary": "summary",
    "description": "description",
    "keywords": "keywords",
    "home_page": "home_page",
    "author": "author",
    "author_email": "author_email",
    "license": "license",
    "supported_platforms": "supported_platform",
    "download_url": "download_url",
    "classifiers": "classifiers",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_python": "requires_python",
    "requires_external": "requires_external",
    "project_urls": "project_urls",
    "description_content_type": "description_content_type",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "license_expression": "license_expression",
    "license_files": "license_file",
}
_REDIRECTS = (301, 302, 303, 307, 308)


class Outcome(enum.Enum):
    UPLOADED = "uploaded"
    #: The same file (same sha256, or the index says the name exists) is already there.
    EXISTS = "exists"
    #: A file of that name with other bytes is on the index: not replaced.
    CONFLICT = "conflict"
    FAILED_CHECK = "failed-check"
    #: Not uploaded because another wheel of the set failed its check.
    HELD_BACK = "held-back"
    #: Not tried: the run stopped at an error before it.
    NOT_TRIED = "not-tried"
    #: The index refused it or could not be reached (the run stops there).
    ERROR = "error"

    @property
    def ok(self) -> bool:
        return self in (Outcome.UPLOADED, Outcome.EXISTS)


@value_class
class WheelUpload:
    path: str
    outcome: Outcome
    detail: str = ""


@value_class
class UploadReport:
    repository: str
    checks: tuple[CheckResult, ...] = ()
    wheels: tuple[WheelUpload, ...] = ()

    @property
    def failed_checks(self) -> bool:
        return any(w.outcome is Outcome.FAILED_CHECK for w in self.wheels)


class UploadError(ToolError):
    """The index refused an upload or could not be reached (exit code 4); ``report`` says what
    had been done."""

    def __init__(self, message: str, report: UploadReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class _Run:
    repository: Repository
    transport: Transport
    index_url: str
    skip_existing: bool
    #: A file of the same name with other bytes counts as already there (a rebuild).
    same_name: bool
    retries: int
    backoff: float
    on_result: Callable[[WheelUpload], None] | None
    results: list[WheelUpload] = field(default_factory=list)

    def record(self, result: WheelUpload) -> None:
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)


def upload_wheels(
    paths: Sequence[str | os.PathLike[str]],
    repository: Repository,
    *,
    skip_failed: bool = False,
    skip_existing: bool = True,
    same_name_is_there: bool = False,
    strict: bool = False,
    index_url: str | None = None,
    policies: PolicySet | Callable[[], PolicySet] | None = None,
    audit_options: AuditOptions | None = None,
    checks: Sequence[CheckResult] | None = None,
    user_agent: str = "manywheel",
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    on_result: Callable[[WheelUpload], None] | None = None,
) -> UploadReport:
    """Check, then upload ``paths`` to ``repository`` (module docstring). ``checks``: results
    already computed for ``paths`` (in order). ``same_name_is_there``: a file of the same name
    with other bytes is skipped as already there (a rebuild of a release: ``build --upload``),
    not a conflict. Raises :class:`UploadError` when the index
    refuses or cannot be reached, :class:`ManywheelError` for two wheels of the same name."""
    names = [Path(p).name for p in paths]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ManywheelError(f"the same wheel name given twice: {', '.join(duplicates)}")
    if checks is None:
        checks = [check_wheel(p, policies=policies, audit_options=audit_options) for p in paths]
    transport = Transport(
        repository.url,
        username=repository.username,
        password=repository.password,
        ca_cert=repository.ca_cert,
        client_cert=repository.client_cert,
        timeout=timeout,
        user_agent=user_agent,
    )
    run = _Run(
        repository,
        transport,
        index_url or simple_index_for(repository.url),
        skip_existing,
        same_name_is_there,
        retries,
        backoff,
        on_result,
    )
    passed = [c for c in checks if c.passed(strict=strict)]
    for check in checks:
        if not check.passed(strict=strict):
            run.record(WheelUpload(check.path, Outcome.FAILED_CHECK, _check_summary(check)))
    if len(passed) < len(checks) and not skip_failed:
        for check in passed:
            run.record(WheelUpload(check.path, Outcome.HELD_BACK, "another wheel failed its check"))
        return _report(run, checks)
    try:
        _upload_all(run, passed)
    except (TransportError, _Refused) as e:
        raise UploadError(str(e), _report(run, checks)) from e
    return _report(run, checks)


def _report(run: _Run, checks: Sequence[CheckResult]) -> UploadReport:
    order = {c.path: i for i, c in enumerate(checks)}
    wheels = sorted(run.results, key=lambda w: order.get(w.path, len(order)))
    return UploadReport(display_url(run.repository.url), tuple(checks), tuple(wheels))


def _check_summary(check: CheckResult) -> str:
    if check.error is not None:
        return str(check.error)
    if not check.problems:
        return f"{len(check.warnings)} warning(s), with --strict"
    count = len(check.problems)
    return f"{count} problem{'s' if count > 1 else ''}"


class _Refused(Exception):
    pass


def _upload_all(run: _Run, passed: list[CheckResult]) -> None:
    known: dict[str, dict[str, str | None] | None] = {}
    pending = list(passed)
    while pending:
        check = pending.pop(0)
        path = Path(check.path)
        project = canonicalize_name(WheelFilename.parse(path.name).name)
        if project not in known:
            known[project] = _files_on_index(run, project)
        sha256, blake2 = _digests(path)
        existing = (known[project] or {}).get(path.name, "absent")
        if existing != "absent":
            run.record(_already_there(run, check.path, existing, sha256))
            continue
        try:
            run.record(_send(run, check, sha256, blake2))
        except (TransportError, _Refused) as e:
            run.record(WheelUpload(check.path, Outcome.ERROR, str(e)))
            for rest in pending:
                run.record(WheelUpload(rest.path, Outcome.NOT_TRIED, "the run stopped at an error"))
            raise


def _files_on_index(run: _Run, project: str) -> dict[str, str | None] | None:
    """What the index has of ``project``; ``None`` when it cannot say (the upload then relies
    on the index refusing a file it has)."""
    try:
        files, why = files_on_index(run.transport, run.index_url, project)
    except TransportError as e:
        logger.warning("cannot read the index's page of %s: %s", project, e)
        return None
    logger.info("files on the index: %s", why)
    return files


def _already_there(run: _Run, path: str, on_index: str | None, sha256: str) -> WheelUpload:
    skip = run.skip_existing
    if on_index is not None and on_index != sha256:
        detail = f"the index has this file name with other content (sha256 {on_index} there, "
        detail += f"{sha256} here): not replaced"
        outcome = Outcome.EXISTS if skip and run.same_name else Outcome.CONFLICT
        return WheelUpload(path, outcome, detail)
    same = "with the same sha256" if on_index else "(the index gives no sha256)"
    outcome = Outcome.EXISTS if skip else Outcome.CONFLICT
    return WheelUpload(path, outcome, f"{'' if skip else 'already on the index '}{same}".strip())


def _digests(path: Path) -> tuple[str, str]:
    sha256 = hashlib.sha256()
    blake2 = hashlib.blake2b(digest_size=32)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            sha256.update(chunk)
            blake2.update(chunk)
    return sha256.hexdigest(), blake2.hexdigest()


def form_fields(
    metadata: Mapping[str, Any], python_tag: str, sha256: str, blake2: str
) -> list[tuple[str, str]]:
    """The upload form's fields for a wheel, in twine's order."""
    fields: list[tuple[str, str]] = []
    for key, value in metadata.items():
        name = FORM_FIELDS.get(key)
        if name is None:
            continue
        if key == "name":
            fields.append((name, re.sub("[^A-Za-z0-9.]+", "-", str(value))))
        elif key == "project_urls" and isinstance(value, Mapping):
            fields.extend((name, f"{label}, {url}") for label, url in value.items())
        elif key == "keywords" and isinstance(value, list):
            fields.append((name, ", ".join(value)))
        elif isinstance(value, list | tuple):
            fields.extend((name, str(item)) for item in value)
        else:
            fields.append((name, str(value)))
    fields += [
        ("pyversion", python_tag),
        ("filetype", "bdist_wheel"),
        ("sha256_digest", sha256),
        ("blake2_256_digest", blake2),
        (":action", "file_upload"),
        ("protocol_version", "1"),
    ]
    return fields


def _send(run: _Run, check: CheckResult, sha256: str, blake2: str) -> WheelUpload:
    path = Path(check.path)
    filename = WheelFilename.parse(path.name)
    fields = form_fields(check.metadata or {}, ".".join(filename.python_tags), sha256, blake2)
    body = MultipartBody.build(fields, "content", path, path.name)
    response = _post(run, body)
    if response.status in (200, 201):
        return WheelUpload(check.path, Outcome.UPLOADED, f"sha256 {sha256}")
    if _exists(response):
        outcome = Outcome.EXISTS if run.skip_existing else Outcome.CONFLICT
        detail = f"the index says so (HTTP {response.status})"
        return WheelUpload(check.path, outcome, detail)
    url = display_url(run.repository.url)
    if response.status in _REDIRECTS:
        where = display_url(response.header("location") or "?")
        message = f"{url}: HTTP {response.status}: redirected to {where}, not followed "
        message += "(is the repository URL the upload URL?)"
    else:
        message = f"{url}: HTTP {response.status} {response.message}"
        if response.status in (401, 403):
            message += _credentials_hint(run.repository)
    raise _Refused(message)


def _credentials_hint(repository: Repository) -> str:
    if not repository.password:
        return " (no password was found: TWINE_PASSWORD, .pypirc or keyring)"
    user = repository.sources.get("username", "?")
    password = repository.sources.get("password", "?")
    return f" (user {repository.username!r} from {user}, password from {password})"


def _post(run: _Run, body: MultipartBody) -> Response:
    attempt = 0
    while True:
        attempt += 1
        response = run.transport.request(
            "POST",
            run.repository.url,
            headers={"Content-Type": body.content_type},
            body=body.chunks(),
            length=body.length(),
        )
        if response.status < 500 or attempt >= run.retries:
            return response
        logger.warning(
            "%s: HTTP %d %s; retrying (%d of %d)",
            display_url(run.repository.url),
            response.status,
            response.reason,
            attempt,
            run.retries - 1,
        )
        time.sleep(run.backoff * attempt)


def _exists(response: Response) -> bool:
    """twine's ``--skip-existing`` test: pypiserver's 409, PyPI's 400 "File already exists"."""
    if response.status == 409:
        return True
    text = f"{response.reason} {response.body[:4096].decode(errors='replace')}".lower()
    return response.status == 400 and "already exist" in text
