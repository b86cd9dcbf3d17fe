"""A survey's results: per package its releases (coverage, target, audits) or why it could not be
surveyed, and the running totals every output summarises."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from manywheel.survey.audit_record import WheelAudit
from manywheel.survey.coverage import Coverage, ReleaseKind
from manywheel.survey.model import DistFile
from manywheel.survey.packages import PackageRequest
from manywheel.survey.target import TargetResult, TargetStatus

__all__ = ["PackageStatus", "PackageSurvey", "ReleaseSurvey", "Summary"]


class PackageStatus(Enum):
    OK = "ok"
    #: Surveyed, but something is missing: a source failed while others answered, or some of
    #: its wheels could not be audited.
    PARTIAL = "partial"
    #: No source lists it (or no release matches what the list asked for).
    NOT_FOUND = "not-found"
    #: Its listing could not be read (unreachable index, an HTTP error, a page that is not one).
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ReleaseSurvey:
    version: str
    yanked: bool
    files: tuple[DistFile, ...]
    coverage: Coverage
    target: TargetResult | None = None
    audits: tuple[WheelAudit, ...] = ()


@dataclass(frozen=True, slots=True)
class PackageSurvey:
    request: PackageRequest
    #: The canonical name.
    name: str
    status: PackageStatus
    #: What went wrong, one line each (empty when OK).
    problems: tuple[str, ...] = ()
    #: Newest first.
    releases: tuple[ReleaseSurvey, ...] = ()
    #: Files the listing had whose names do not parse as this project's.
    left_out: int = 0

    @property
    def latest(self) -> ReleaseSurvey | None:
        return self.releases[0] if self.releases else None

    @property
    def surveyed(self) -> bool:
        return self.status is PackageStatus.OK


@dataclass
class Summary:
    """Totals over the packages seen so far (the latest surveyed release of each)."""

    packages: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    #: Packages with a platform wheel for each platform family / Python key.
    families: Counter[str] = field(default_factory=Counter)
    pythons: Counter[str] = field(default_factory=Counter)
    #: Binary packages by the oldest glibc their manylinux wheels serve (``2.17``...).
    oldest_glibc: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    wheels_audited: int = 0
    audit_errors: int = 0
    mislabelled: int = 0
    cached: int = 0
    bytes_fetched: int = 0
    bytes_of_wheels: int = 0
    findings: Counter[str] = field(default_factory=Counter)

    def add(self, package: PackageSurvey) -> None:
        self.packages += 1
        self.statuses[package.status.value] += 1
        for release in package.releases:
            self._add_audits(release.audits)
        latest = package.latest
        if latest is None:
            return
        coverage = latest.coverage
        self.kinds[coverage.kind.value] += 1
        if coverage.kind is ReleaseKind.BINARY:
            self.families.update(p.family for p in coverage.platforms)
            self.pythons.update(coverage.pythons)
            glibc = coverage.oldest_glibc
            if glibc is not None:
                self.oldest_glibc[".".join(map(str, glibc))] += 1
        if latest.target is not None:
            self.targets[latest.target.status.value] += 1

    def _add_audits(self, audits: tuple[WheelAudit, ...]) -> None:
        for audit in audits:
            self.wheels_audited += 1
            if audit.error is not None:
                self.audit_errors += 1
                continue
            self.mislabelled += audit.mislabelled
            self.cached += audit.cached
            self.bytes_fetched += audit.bytes_fetched
            if not audit.cached and audit.size is not None and audit.read.value != "local":
                self.bytes_of_wheels += audit.size
            self.findings.update({f.kind.value for f in audit.findings})

    @property
    def unsurveyed(self) -> int:
        return self.packages - self.statuses[PackageStatus.OK.value]

    @property
    def missing_for_target(self) -> int:
        return self.targets[TargetStatus.SDIST.value] + self.targets[TargetStatus.MISSING.value]
