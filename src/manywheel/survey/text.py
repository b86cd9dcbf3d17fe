"""The survey for a terminal: one line per package (kind, platforms, Pythons, oldest glibc,
target, audit), the totals, and a progress bar for stderr."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from manywheel.survey.documents import Row
from manywheel.survey.results import Summary
from manywheel.survey.runner import Progress

__all__ = ["compact_platforms", "compact_pythons", "progress_line", "table"]

_SHORT_FAMILY = {"manylinux": "gl", "musllinux": "musl", "macosx": "mac", "win": "win"}


def compact_platforms(platforms: Iterable[tuple[str, str]]) -> str:
    """``gl:x86_64,aarch64 musl:x86_64 mac:arm64,x86_64 win:amd64``."""
    groups: dict[str, list[str]] = {}
    for family, _ in platforms:
        head, _, arch = family.partition("_")
        groups.setdefault(_SHORT_FAMILY.get(head, head), []).append(arch or head)
    return " ".join(f"{head}:{','.join(archs)}" for head, archs in groups.items())


_CP = re.compile(r"^cp(\d)(\d+)(t?)$")


def compact_pythons(keys: Sequence[str]) -> str:
    """``cp39-cp313 cp313t abi3 pp310``: CPython versions as a range (a gap shows), the rest
    as they are."""
    versions: dict[bool, list[tuple[int, int]]] = {False: [], True: []}
    others = []
    for key in keys:
        match = _CP.match(key)
        if match:
            versions[bool(match.group(3))].append((int(match.group(1)), int(match.group(2))))
        else:
            others.append(key)
    parts = [_span(versions[False], ""), _span(versions[True], "t")]
    return " ".join(p for p in [*parts, *others] if p)


def _span(found: list[tuple[int, int]], suffix: str) -> str:
    if not found:
        return ""
    found.sort()
    runs: list[list[tuple[int, int]]] = [[found[0]]]
    for version in found[1:]:
        last = runs[-1][-1]
        if version == (last[0], last[1] + 1):
            runs[-1].append(version)
        else:
            runs.append([version])

    def name(v: tuple[int, int]) -> str:
        return f"cp{v[0]}{v[1]}{suffix}"

    return ",".join(name(r[0]) if len(r) == 1 else f"{name(r[0])}-{name(r[-1])}" for r in runs)


def _cells(row: Row, target: bool, audit: bool) -> list[str]:
    if not row.version:
        problem = row.problems[0] if row.problems else row.status
        return [row.name, "", row.status, problem]
    cells = [
        row.name,
        row.version,
        row.kind,
        compact_platforms(row.platforms),
        compact_pythons(row.pythons),
        row.oldest_glibc or "-",
    ]
    if target:
        cells.append(row.target + (f" ({row.target_reason})" if row.target_reason else ""))
    if audit:
        mislabelled = len({m.filename for m in row.mislabels})
        state = f"{row.audited} wheels"
        if mislabelled:
            state += f", {mislabelled} mislabelled"
        if row.audit_errors:
            state += f", {row.audit_errors} failed"
        cells.append(state)
    return cells


def table(
    rows: Sequence[Row],
    summary: Summary,
    *,
    target: str | None,
    audit: bool,
    paint: Callable[[str, str], str],
) -> list[str]:
    """The lines of the table, then the totals."""
    header = ["package", "version", "kind", "platforms", "pythons", "glibc"]
    if target:
        header.append(f"target {target}")
    if audit:
        header.append("audit")
    body = [_cells(r, bool(target), audit) for r in rows]
    widths = [
        max([len(header[i])] + [len(c[i]) for c in body if i < len(c) - 1])
        for i in range(len(header))
    ]
    lines = [
        paint("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), "1")
    ]
    for row, cells in zip(rows, body, strict=True):
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()
        colour = {"binary": "32", "pure": "36", "sdist-only": "33"}.get(row.kind, "31")
        lines.append(text.replace(row.kind, paint(row.kind, colour), 1) if row.kind else text)
    lines.extend(["", *totals(summary, target=target, audit=audit)])
    for row in rows:
        for mislabel in row.mislabels:
            lines.append(
                f"mislabelled: {mislabel.filename}: claims {mislabel.claimed}, "
                f"is {mislabel.best} as it is"
            )
            lines.extend(f"    {reason}" for reason in mislabel.reasons[:3])
    return lines


def totals(summary: Summary, *, target: str | None, audit: bool) -> list[str]:
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary.kinds.items()))
    lines = [f"{summary.packages} packages: {kinds or 'none surveyed'}"]
    if summary.unsurveyed:
        lines.append(f"{summary.unsurveyed} could not be surveyed (or only in part)")
    if target:
        lines.append(f"{summary.missing_for_target} have no wheel for {target}")
    if audit:
        line = (
            f"{summary.wheels_audited} wheels audited ({summary.cached} from the cache, "
            f"{summary.audit_errors} failed): {summary.mislabelled} mislabelled"
        )
        if summary.bytes_of_wheels:  # read over the network (not from a file:// index)
            share = 100 * summary.bytes_fetched / summary.bytes_of_wheels
            line += (
                f"; {_size(summary.bytes_fetched)} fetched of {_size(summary.bytes_of_wheels)}"
                f" ({share:.1f}%)"
            )
        lines.append(line)
    return lines


def _size(n: int) -> str:
    """``812 B``, ``1.5 MB``: decimal units, as download sizes are given."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def progress_line(progress: Progress, width: int = 30) -> str:
    """``[#######       ] 120/300 packages, 14/40 wheels audited  numpy``."""
    total = progress.packages_total
    if total:
        filled = width * progress.packages_done // max(total, 1)
        bar = "[" + "#" * filled + " " * (width - filled) + "] "
        count = f"{progress.packages_done}/{total} packages"
    else:
        bar, count = "", f"{progress.packages_done} packages"
    audits = ""
    if progress.audits_submitted:
        audits = f", {progress.audits_done}/{progress.audits_submitted} wheels audited"
    return f"{bar}{count}{audits}  {progress.last}"
