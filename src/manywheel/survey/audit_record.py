"""What a survey keeps of one wheel's audit: the tags it claims, the tags it can claim as it is
and after repair, and its findings, each a kind, a message and where.

:func:`findings_from_report` is the one place an :class:`~manywheel.audit.AuditReport` becomes
findings: a new check in the audit (Python-ABI findings, say) becomes a survey finding by a new
:class:`FindingKind` and a clause there; storage, caching and every output carry it as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manywheel.audit import AuditReport
    from manywheel.policy import PolicyVerdict

__all__ = [
    "AUDIT_RECORD_VERSION",
    "AuditFinding",
    "FindingKind",
    "ReadMode",
    "WheelAudit",
    "findings_from_report",
]

#: Bumped when a record's meaning changes: cached records of another version are ignored.
AUDIT_RECORD_VERSION = 2
#: Reasons kept per finding (the full audit is ``manywheel show``'s job).
_REASONS_KEPT = 8


class FindingKind(Enum):
    #: A platform tag in the filename that the wheel, as it is, does not satisfy.
    MISLABELLED = "mislabelled"
    #: A Python tag (abi3/abi3t baseline, free-threaded build, extension suffix) that the
    #: wheel's modules do not honour: the other half of a truthful tag.
    PYTHON_ABI = "python-abi"
    #: A library the claimed policy does not allow, from outside the wheel (or not found).
    EXTERNAL_LIBRARY = "external-library"
    EXECUTABLE_STACK = "executable-stack"
    #: An RPATH/RUNPATH entry pointing outside the wheel (a build machine's directory).
    FOREIGN_RPATH = "foreign-rpath"
    #: LOAD segments aligned below 64 KiB pages.
    LOW_ALIGNMENT = "low-alignment"
    #: An ELF file under ``.data/purelib``.
    PURELIB_ELF = "purelib-elf"
    #: A problem of the container (WHEEL tags, METADATA, RECORD...).
    CONTAINER = "container"


_MISLABELS = frozenset({FindingKind.MISLABELLED, FindingKind.PYTHON_ABI})


class ReadMode(Enum):
    #: A local file (``file://`` index): audited as ``manywheel show`` does.
    LOCAL = "local"
    #: HTTP range requests: the central directory and the ELF members' needed parts.
    RANGES = "ranges"
    #: The whole file downloaded (the server ignored ranges, or ranges were turned off).
    FULL = "full"


@dataclass(frozen=True, slots=True)
class AuditFinding:
    kind: FindingKind
    message: str
    member: str | None = None
    #: The claimed tag(s) a mislabelled finding is about.
    tags: tuple[str, ...] = ()
    #: The audit's reasons, each one line (the first few).
    reasons: tuple[str, ...] = ()
    #: What the wheel could honestly claim instead of ``tags`` (a python-abi finding).
    honest: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "member": self.member,
            "tags": list(self.tags),
            "reasons": list(self.reasons),
            "honest": list(self.honest),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditFinding:
        return cls(
            FindingKind(data["kind"]),
            str(data["message"]),
            data["member"] if isinstance(data["member"], str) else None,
            tuple(str(t) for t in data["tags"]),
            tuple(str(r) for r in data["reasons"]),
            tuple(str(t) for t in data.get("honest", ())),
        )


@dataclass(frozen=True, slots=True)
class WheelAudit:
    """One platform wheel, audited (or the reason it could not be)."""

    filename: str
    url: str
    sha256: str | None
    #: Why the wheel could not be audited (unreachable, truncated, hostile...); else ``None``.
    error: str | None = None
    #: The platform tags the filename claims.
    claimed: tuple[str, ...] = ()
    #: The best tag it can claim as it is, and after a repair (``None``: no ELF file).
    best: str | None = None
    best_after_repair: str | None = None
    arch: str | None = None
    libc: str | None = None
    elf_members: int = 0
    findings: tuple[AuditFinding, ...] = ()
    read: ReadMode = ReadMode.LOCAL
    #: Bytes fetched over the network for this audit (0 for a local file or a cached result).
    bytes_fetched: int = 0
    #: The file's size, when known.
    size: int | None = None
    #: Whether the result came from the cache (no bytes fetched this time).
    cached: bool = field(default=False, compare=False)
    #: Not audited, and why (bigger than the limit, learnt only once its size was): such a
    #: record is dropped from the results, never written.
    skipped: str | None = field(default=None, compare=False)

    @property
    def mislabelled(self) -> bool:
        """Whether a tag of the filename, platform or Python, is not true of the wheel."""
        return any(f.kind in _MISLABELS for f in self.findings)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "url": self.url,
            "sha256": self.sha256,
            "error": self.error,
            "claimed": list(self.claimed),
            "best": self.best,
            "best_after_repair": self.best_after_repair,
            "arch": self.arch,
            "libc": self.libc,
            "elf_members": self.elf_members,
            "mislabelled": self.mislabelled,
            "findings": [f.to_json() for f in self.findings],
            "read": self.read.value,
            "bytes_fetched": self.bytes_fetched,
            "size": self.size,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WheelAudit:
        """The record :meth:`to_json` wrote. Raises KeyError, TypeError or ValueError for
        anything else (a cache reader treats that as no entry)."""

        def text(key: str) -> str | None:
            value = data[key]
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{key} is not text")
            return value

        size = data["size"]
        return cls(
            filename=str(data["filename"]),
            url=str(data["url"]),
            sha256=text("sha256"),
            error=text("error"),
            claimed=tuple(str(t) for t in data["claimed"]),
            best=text("best"),
            best_after_repair=text("best_after_repair"),
            arch=text("arch"),
            libc=text("libc"),
            elf_members=int(data["elf_members"]),
            findings=tuple(AuditFinding.from_json(f) for f in data["findings"]),
            read=ReadMode(data["read"]),
            bytes_fetched=int(data["bytes_fetched"]),
            size=size if isinstance(size, int) else None,
        )


def findings_from_report(report: AuditReport) -> tuple[AuditFinding, ...]:
    """The survey's findings for one audit report (the only place they are made)."""
    found = [*_mislabelled(report), *_python_abi(report), *_external(report)]
    for member in report.members:
        if member.elf.executable_stack:
            found.append(
                AuditFinding(
                    FindingKind.EXECUTABLE_STACK, "asks for an executable stack", member.member
                )
            )
        if member.foreign_rpaths:
            entries = ", ".join(member.foreign_rpaths)
            found.append(
                AuditFinding(
                    FindingKind.FOREIGN_RPATH,
                    f"RPATH/RUNPATH outside the wheel: {entries}",
                    member.member,
                )
            )
        if member.low_alignment:
            found.append(
                AuditFinding(
                    FindingKind.LOW_ALIGNMENT, "LOAD alignment below 64 KiB pages", member.member
                )
            )
    found.extend(
        AuditFinding(FindingKind.PURELIB_ELF, "ELF file in purelib", m)
        for m in report.purelib_elves
    )
    found.extend(_container(report))
    return tuple(found)


def _container(report: AuditReport) -> list[AuditFinding]:
    """One finding per kind of container problem, with its first few occurrences."""
    by_kind: dict[str, list[str]] = {}
    for finding in report.findings:
        by_kind.setdefault(finding.kind.label, []).append(str(finding))
    return [
        AuditFinding(
            FindingKind.CONTAINER,
            messages[0] if len(messages) == 1 else f"{label}: {len(messages)} members",
            None,
            (),
            _few(tuple(messages)),
        )
        for label, messages in by_kind.items()
    ]


def _claimed_verdicts(report: AuditReport) -> list[tuple[PolicyVerdict, tuple[str, ...]]]:
    """The verdicts of the policies the filename's platform tags name, each with its tags."""
    if report.verdict is None:
        return []
    grouped: dict[str, tuple[PolicyVerdict, list[str]]] = {}
    for tag in report.filename.platform_tags:
        verdict = report.verdict.get(tag)
        if verdict is not None and not verdict.policy.is_generic:
            grouped.setdefault(verdict.policy.name, (verdict, []))[1].append(tag)
    return [(verdict, tuple(tags)) for verdict, tags in grouped.values()]


def _mislabelled(report: AuditReport) -> list[AuditFinding]:
    best = report.best.tag if report.best is not None else "nothing"
    found = []
    for verdict, tags in _claimed_verdicts(report):
        if verdict.allowed:
            continue
        reasons = tuple(dict.fromkeys(r.message for r in verdict.reasons))
        kinds = ", ".join(dict.fromkeys(r.kind.value for r in verdict.reasons))
        found.append(
            AuditFinding(
                FindingKind.MISLABELLED,
                f"claims {' '.join(tags)} but is {best} as it is ({kinds})",
                None,
                tags,
                _few(reasons),
            )
        )
    return found


def _python_abi(report: AuditReport) -> list[AuditFinding]:
    """The Python-ABI problems the audit found (``manywheel show``'s "Python tag" verdict), one
    finding each, with the tag it breaks and what the wheel could honestly claim."""
    verdict = report.python_abi
    if verdict is None:
        return []
    return [
        AuditFinding(
            FindingKind.PYTHON_ABI,
            problem.message,
            problem.member,
            (problem.tag,) if problem.tag else (),
            (problem.message,),
            verdict.honest_tags,
        )
        for problem in verdict.problems
    ]


def _external(report: AuditReport) -> list[AuditFinding]:
    """Libraries outside the wheel that the best claimed policy does not allow."""
    claimed = _claimed_verdicts(report)
    if not claimed:
        return []
    verdict, tags = max(claimed, key=lambda c: c[0].policy.priority)
    libraries: dict[str, list[str]] = {}
    for reason in verdict.reasons:
        if reason.kind.value in ("not-whitelisted", "library-not-found") and reason.library:
            libraries.setdefault(reason.library, []).append(reason.message)
    return [
        AuditFinding(
            FindingKind.EXTERNAL_LIBRARY,
            f"needs {library} from outside the wheel, not allowed by {tags[0]}",
            None,
            tags,
            _few(tuple(dict.fromkeys(messages))),
        )
        for library, messages in sorted(libraries.items())
    ]


def _few(reasons: tuple[str, ...]) -> tuple[str, ...]:
    if len(reasons) <= _REASONS_KEPT:
        return reasons
    return (*reasons[:_REASONS_KEPT], f"… and {len(reasons) - _REASONS_KEPT} more")
