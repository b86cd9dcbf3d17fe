"""``check_wheel``: is a wheel ready to publish? Four things, each a list of problems:

* **container** — the wheel verifies: zip safety, one ``.dist-info`` matching the filename,
  WHEEL's tags, METADATA's name and version, every RECORD hash and size
  (:func:`manywheel.wheel.verify_wheel`'s findings);
* **metadata** — what an index accepts (:mod:`~manywheel.build.check_metadata`);
* **description** — the long description renders for its content type;
* **tag** — every platform tag of the filename is true (the audit allows it as the wheel is) and
  none is ``linux_*``;
* **python-abi** — the Python and ABI tags are true for the extension modules: the audit's
  Python-ABI verdict (``abi3``/``abi3t`` symbols outside the Stable ABI or newer than the tag's
  baseline, file names an interpreter the tag claims does not import, a free-threaded module
  under a GIL-enabled tag or the other way round; docs/python-abi.md).

A wheel that cannot be read at all (not a zip, hostile, a corrupt ELF member) is not checked:
its result carries the error instead. Nothing is written; nothing from the wheel runs.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from typing import Any

from manywheel.audit import AuditOptions, audit_archive
from manywheel.build.check_metadata import check_metadata
from manywheel.build.check_tags import TagVerdict, is_linux_tag, judge_tags
from manywheel.errors import InputError, InvalidWheelError
from manywheel.policy import PolicySet, PythonAbiVerdict
from manywheel.values import value_class
from manywheel.wheel import Finding, WheelArchive, verify_wheel

__all__ = ["CheckResult", "Problem", "ProblemKind", "TagVerdict", "check_wheel"]

#: METADATA bigger than this is not parsed (PyPI's own limit on a description is far lower).
MAX_METADATA_BYTES = 16 * 2**20

_UNREADABLE = (InputError, FileNotFoundError, IsADirectoryError, PermissionError)


class ProblemKind(enum.Enum):
    CONTAINER = "container"
    METADATA = "metadata"
    DESCRIPTION = "description"
    TAG = "tag"
    PYTHON_ABI = "python-abi"


@value_class
class Problem:
    kind: ProblemKind
    message: str
    #: The wheel member concerned (container problems), or the tag (tag problems).
    subject: str | None = None

    def __str__(self) -> str:
        if self.subject and not self.message.startswith(self.subject):
            return f"{self.subject}: {self.message}"
        return self.message


@value_class
class CheckResult:
    path: str
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Each platform tag of the filename and whether it is true (empty when not audited).
    tags: tuple[TagVerdict, ...] = ()
    #: The best platform tag the wheel's files allow as they are (Linux wheels with ELF files).
    best_tag: str | None = None
    #: METADATA as parsed for the index (``packaging.metadata.RawMetadata`` keys).
    metadata: Mapping[str, Any] | None = None
    #: The audit's Python-ABI verdict (``None``: a pure wheel, a non-CPython tag, not audited).
    python_abi: PythonAbiVerdict | None = None
    #: The wheel could not be read; nothing else was checked.
    error: Exception | None = None

    def passed(self, *, strict: bool = False) -> bool:
        """No problem (and, when ``strict``, no warning either) and the wheel was readable."""
        return self.error is None and not self.problems and not (strict and self.warnings)


def check_wheel(
    path: str | os.PathLike[str],
    *,
    policies: PolicySet | Callable[[], PolicySet] | None = None,
    audit_options: AuditOptions | None = None,
) -> CheckResult:
    """Check the wheel at ``path``. ``policies`` (or a loader of them; ``None``: the shipped
    ones) and ``audit_options`` are the audit's, as for ``show``."""
    name = str(path)
    try:
        with WheelArchive.open(path) as archive:
            return _check(archive, name, policies, audit_options)
    except _UNREADABLE as e:
        return CheckResult(name, error=e)


def _check(
    archive: WheelArchive,
    name: str,
    policies: PolicySet | Callable[[], PolicySet] | None,
    options: AuditOptions | None,
) -> CheckResult:
    platforms = archive.filename.platform_tags
    tags: tuple[TagVerdict, ...] = ()
    best = None
    abi = None
    if any(is_linux_tag(t) or t == "any" for t in platforms):
        report = audit_archive(archive, policies=policies, options=options)
        findings = report.findings
        tags = judge_tags(report)
        best = report.best.tag if report.best is not None else None
        abi = report.python_abi
    else:
        findings = verify_wheel(archive)
    problems = [_container(f) for f in findings]
    problems += [Problem(ProblemKind.TAG, _refusal(t, best), t.tag) for t in tags if not t.true]
    problems += _abi_problems(abi)
    warnings = [f"{n}: present; its signature is not checked" for n in _signatures(archive)]
    metadata = None
    dist_info = _dist_info(archive)
    if dist_info is not None:
        checked = _metadata(archive, dist_info)
        problems += checked[0]
        warnings += checked[1]
        metadata = checked[2]
    return CheckResult(name, tuple(problems), tuple(warnings), tags, best, metadata, abi)


def _abi_problems(verdict: PythonAbiVerdict | None) -> list[Problem]:
    """One problem per Python-ABI problem; the first says what the wheel could claim."""
    if verdict is None:
        return []
    honest = f"; it could claim {', '.join(verdict.honest_tags)}" if verdict.honest_tags else ""
    return [
        Problem(ProblemKind.PYTHON_ABI, p.message + (honest if i == 0 else ""), p.member)
        for i, p in enumerate(verdict.problems)
    ]


def _refusal(verdict: TagVerdict, best: str | None) -> str:
    more = verdict.reasons - 1
    text = (verdict.reason or "refused") + (f" (+{more} more reasons)" if more > 0 else "")
    if best is not None and verdict.tag != "any":
        text += f"; the files allow {best} at best"
    return text


def _container(finding: Finding) -> Problem:
    text = str(finding)
    if finding.member and text.startswith(f"{finding.member}: "):
        text = text[len(finding.member) + 2 :]
    return Problem(ProblemKind.CONTAINER, f"{finding.kind.label}: {text}", finding.member)


def _signatures(archive: WheelArchive) -> tuple[str, ...]:
    try:
        return archive.signatures
    except InvalidWheelError:
        return ()


def _dist_info(archive: WheelArchive) -> str | None:
    try:
        return archive.dist_info
    except InvalidWheelError:  # already a container problem
        return None


def _metadata(
    archive: WheelArchive, dist_info: str
) -> tuple[list[Problem], list[str], Mapping[str, Any] | None]:
    member = f"{dist_info}/METADATA"
    if member not in archive:
        return [], [], None  # a container problem already
    size = archive.member(member).file_size
    if size > MAX_METADATA_BYTES:
        problem = Problem(
            ProblemKind.METADATA, f"{size} bytes; not read past {MAX_METADATA_BYTES}", member
        )
        return [problem], [], None
    names = frozenset(m.name for m in archive.members)
    checked = check_metadata(archive.read_member(member), dist_info, names)
    problems = [Problem(ProblemKind.METADATA, p) for p in checked.problems]
    problems += [Problem(ProblemKind.DESCRIPTION, p) for p in checked.description_problems]
    return problems, list(checked.warnings), checked.metadata
