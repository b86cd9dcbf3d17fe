"""A survey as data for outputs: the JSON document (format ``manywheel-survey``, schema version
1; docs/survey.md), CSV rows, and the compact per-package :class:`Row` the text table and the
HTML report are drawn from (one per package: a survey of a whole index keeps these, not every
file). Writers stream: each package is written as it arrives."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from manywheel.survey.audit_record import FindingKind, WheelAudit
from manywheel.survey.coverage import Coverage
from manywheel.survey.platforms import version_text
from manywheel.survey.results import PackageSurvey, ReleaseSurvey, Summary

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "CsvWriter",
    "JsonWriter",
    "Mislabel",
    "Row",
    "package_json",
    "summary_json",
]

FORMAT = "manywheel-survey"
SCHEMA_VERSION = 1


def _coverage_json(coverage: Coverage) -> dict[str, Any]:
    return {
        "kind": coverage.kind.value,
        "sdist": coverage.has_sdist,
        "universal": coverage.universal,
        "pure_fallback": coverage.pure_fallback,
        "oldest_glibc": version_text(coverage.oldest_glibc) or None,
        "free_threaded": coverage.free_threaded,
        "stable_abi": coverage.stable_abi,
        "oses": list(coverage.oses),
        "pythons": list(coverage.pythons),
        "platforms": [
            {
                "family": p.family,
                "os": p.os,
                "arch": p.arch,
                "libc": p.libc,
                "oldest": version_text(p.oldest) or None,
                "pythons": list(p.pythons),
                "wheels": p.wheels,
            }
            for p in coverage.platforms
        ],
    }


def _release_json(release: ReleaseSurvey) -> dict[str, Any]:
    target = release.target
    return {
        "version": release.version,
        "yanked": release.yanked,
        **_coverage_json(release.coverage),
        "files": [
            {
                "filename": f.filename,
                "url": f.url,
                "sha256": f.sha256,
                "size": f.size,
                "requires_python": f.requires_python,
                "yanked": f.yanked,
            }
            for f in release.files
        ],
        "target": None
        if target is None
        else {"status": target.status.value, "wheel": target.wheel, "reason": target.reason},
        "audits": [a.to_json() for a in release.audits],
    }


def package_json(package: PackageSurvey) -> dict[str, Any]:
    request = package.request
    return {
        "name": package.name,
        "requested": request.name,
        "specifier": request.specifier,
        "rank": request.rank,
        "downloads": request.downloads,
        "status": package.status.value,
        "problems": list(package.problems),
        "files_left_out": package.left_out,
        "releases": [_release_json(r) for r in package.releases],
    }


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "packages": summary.packages,
        "unsurveyed": summary.unsurveyed,
        "statuses": dict(summary.statuses),
        "kinds": dict(summary.kinds),
        "platform_families": dict(summary.families.most_common()),
        "pythons": dict(summary.pythons.most_common()),
        "oldest_glibc": dict(sorted(summary.oldest_glibc.items(), key=_version_key)),
        "target": dict(summary.targets),
        "audit": {
            "wheels": summary.wheels_audited,
            "errors": summary.audit_errors,
            "mislabelled": summary.mislabelled,
            "cached": summary.cached,
            "bytes_fetched": summary.bytes_fetched,
            "bytes_of_wheels": summary.bytes_of_wheels,
            "findings": dict(summary.findings),
        },
    }


def _version_key(item: tuple[str, int]) -> tuple[int, ...]:
    return tuple(int(p) for p in item[0].split(".") if p.isdigit())


class JsonWriter:
    """The JSON document, written as packages arrive (one package per line)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._first = True

    def start(self, meta: Mapping[str, Any]) -> None:
        head = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta}
        text = json.dumps(head, indent=None)
        self._stream.write(text[:-1] + ', "packages": [\n')

    def add(self, package: PackageSurvey) -> None:
        if not self._first:
            self._stream.write(",\n")
        self._first = False
        self._stream.write(json.dumps(package_json(package)))

    def finish(self, summary: Summary) -> None:
        self._stream.write('\n], "summary": ' + json.dumps(summary_json(summary)) + "}\n")


CSV_COLUMNS = (
    "rank",
    "name",
    "version",
    "status",
    "kind",
    "sdist",
    "oses",
    "platforms",
    "pythons",
    "oldest_glibc",
    "free_threaded",
    "stable_abi",
    "target",
    "target_wheel",
    "target_reason",
    "wheels_audited",
    "mislabelled",
    "audit_errors",
    "problems",
)


class CsvWriter:
    """One row per package and surveyed release (a package with none: one row, no version)."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def start(self, meta: Mapping[str, Any]) -> None:
        self._writer.writerow(CSV_COLUMNS)

    def add(self, package: PackageSurvey) -> None:
        problems = " | ".join(package.problems)
        rank = package.request.rank if package.request.rank is not None else ""
        if not package.releases:
            row: list[object] = [rank, package.name, "", package.status.value]
            self._writer.writerow(row + [""] * (len(CSV_COLUMNS) - 5) + [problems])
            return
        for release in package.releases:
            self._writer.writerow(_csv_row(package, release, rank, problems))

    def finish(self, summary: Summary) -> None:
        """Nothing after the rows."""


def _csv_row(
    package: PackageSurvey, release: ReleaseSurvey, rank: object, problems: str
) -> list[object]:
    coverage = release.coverage
    target = release.target
    audits = release.audits
    return [
        rank,
        package.name,
        release.version,
        package.status.value,
        coverage.kind.value,
        int(coverage.has_sdist),
        " ".join(coverage.oses),
        " ".join(p.family for p in coverage.platforms),
        " ".join(coverage.pythons),
        version_text(coverage.oldest_glibc),
        int(coverage.free_threaded),
        int(coverage.stable_abi),
        target.status.value if target else "",
        (target.wheel or "") if target else "",
        target.reason if target else "",
        len(audits),
        sum(a.mislabelled for a in audits),
        sum(a.error is not None for a in audits),
        problems,
    ]


@dataclass(frozen=True, slots=True)
class Mislabel:
    """One mislabelled wheel, for the reports' lists."""

    package: str
    filename: str
    claimed: str
    best: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Row:
    """What the text table and the HTML report show of one package."""

    name: str
    rank: int | None
    status: str
    problems: tuple[str, ...]
    version: str
    kind: str
    #: Platform families with wheels, with their oldest version (``manylinux_x86_64 2.17``).
    platforms: tuple[tuple[str, str], ...]
    pythons: tuple[str, ...]
    oldest_glibc: str
    free_threaded: bool
    target: str
    target_reason: str
    audited: int
    audit_errors: int
    mislabels: tuple[Mislabel, ...]
    findings: tuple[str, ...]

    @classmethod
    def of(cls, package: PackageSurvey) -> Row:
        latest = package.latest
        audits = [a for r in package.releases for a in r.audits]
        if latest is None:
            return cls(
                package.name,
                package.request.rank,
                package.status.value,
                package.problems,
                "",
                "",
                (),
                (),
                "",
                False,
                "",
                "",
                0,
                0,
                (),
                (),
            )
        coverage = latest.coverage
        target = latest.target
        return cls(
            package.name,
            package.request.rank,
            package.status.value,
            package.problems,
            latest.version,
            coverage.kind.value,
            tuple((p.family, version_text(p.oldest)) for p in coverage.platforms),
            coverage.pythons,
            version_text(coverage.oldest_glibc),
            coverage.free_threaded,
            target.status.value if target else "",
            target.reason if target else "",
            len(audits),
            sum(a.error is not None for a in audits),
            tuple(m for a in audits for m in _mislabels(package.name, a)),
            tuple(sorted({f.kind.value for a in audits for f in a.findings})),
        )


def _mislabels(package: str, audit: WheelAudit) -> list[Mislabel]:
    """The wheel's untrue tags: platform tags with the best the wheel is as it is, Python tags
    with what its modules allow (``cp310-abi3``; empty when no Stable ABI claim would hold)."""
    found = []
    for f in audit.findings:
        if f.kind is FindingKind.MISLABELLED:
            found.append(Mislabel(package, audit.filename, " ".join(f.tags), audit.best or "",
                                  f.reasons))  # fmt: skip
        elif f.kind is FindingKind.PYTHON_ABI:
            honest = " ".join(f.honest) or "no Stable ABI tag"
            found.append(Mislabel(package, audit.filename, " ".join(f.tags) or "its Python tag",
                                  honest, f.reasons))  # fmt: skip
    return found
