"""The verdict arranged for a reader: the better tags refused for the same reasons grouped into
one range, reasons grouped by kind, and what a repair carries in per range of policies. Plain
data; the CLI renders it."""

from __future__ import annotations

from collections.abc import Iterable

from manywheel.audit.report import AuditReport
from manywheel.policy import PolicyVerdict, Reason, ReasonKind
from manywheel.values import value_class

__all__ = ["GraftGroup", "Refusal", "grafts_by_policy", "pure_message", "refusals"]


def pure_message(architecture: str | None, ignored: Iterable[str]) -> str:
    """auditwheel's words for a wheel with no ELF file of its architecture."""
    members = list(ignored)
    if architecture is None or not members:
        return (
            "This does not look like a platform wheel, no ELF executable or shared library "
            "file (including compiled Python C extension) found in the wheel archive"
        )
    listed = "\n\t".join(members)
    return (
        "Invalid binary wheel: no ELF executable or shared library file (including compiled "
        f"Python C extension) with a {architecture!r} architecture found. The following ELF "
        f"files were found:\n\t{listed}\n"
    )


@value_class
class Refusal:
    """Better tags (highest first) all refused for the same reasons, grouped by kind."""

    tags: tuple[str, ...]
    #: (kind, reasons of that kind), kinds in a stable order.
    kinds: tuple[tuple[ReasonKind, tuple[Reason, ...]], ...]
    #: Whether a repair would clear every reason (the tags are reachable by ``repair``).
    repairable: bool


@value_class
class GraftGroup:
    """Policies (highest first) for which a repair carries in the same libraries."""

    tags: tuple[str, ...]
    grafts: tuple[str, ...]


def _culprit(reason: Reason) -> tuple[object, ...]:
    """A reason without its policy's name (messages name the policy)."""
    return (reason.kind, reason.file, reason.library, reason.version, reason.symbols,
            reason.grafted)  # fmt: skip


def _by_kind(reasons: Iterable[Reason]) -> tuple[tuple[ReasonKind, tuple[Reason, ...]], ...]:
    grouped: dict[ReasonKind, list[Reason]] = {}
    for reason in reasons:
        grouped.setdefault(reason.kind, []).append(reason)
    order = list(ReasonKind)
    return tuple((k, tuple(grouped[k])) for k in sorted(grouped, key=order.index))


def refusals(report: AuditReport) -> tuple[Refusal, ...]:
    """For every applicable tag better than the one the wheel can claim as it is, every reason
    it is refused; neighbouring tags with the same culprits share one entry."""
    best = report.best
    if report.verdict is None or best is None:
        return ()
    better = [v for v in report.verdict.applicable if v.policy.priority > best.policy.priority]
    groups: list[tuple[list[PolicyVerdict], frozenset[tuple[object, ...]]]] = []
    for verdict in better:
        key = frozenset(map(_culprit, verdict.reasons))
        if groups and groups[-1][1] == key:
            groups[-1][0].append(verdict)
        else:
            groups.append(([verdict], key))
    return tuple(
        Refusal(
            tuple(v.tag for v in verdicts),
            _by_kind(verdicts[0].reasons),
            verdicts[0].allowed_after_repair,
        )
        for verdicts, _ in groups
    )


def grafts_by_policy(report: AuditReport) -> tuple[GraftGroup, ...]:
    """What a repair would carry in, for every policy a repair can reach (highest first)."""
    if report.verdict is None:
        return ()
    groups: list[GraftGroup] = []
    for verdict in report.verdict.applicable:
        if not verdict.allowed_after_repair or not verdict.grafts:
            continue
        if groups and groups[-1].grafts == verdict.grafts:
            last = groups.pop()
            groups.append(GraftGroup((*last.tags, verdict.tag), last.grafts))
        else:
            groups.append(GraftGroup((verdict.tag,), verdict.grafts))
    return tuple(groups)
