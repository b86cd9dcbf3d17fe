"""The verdict arranged for a reader: the better tags refused for the same reasons grouped into
one range, reasons grouped by kind, and what a repair carries in per range of policies. Plain
data; the CLI renders it."""

from __future__ import annotations

from collections.abc import Iterable

from manywheel.audit.report import AuditReport
from manywheel.policy import PolicyVerdict, Reason, ReasonKind
from manywheel.values import value_class

__all__ = [
    "Culprit",
    "FalseClaim",
    "GraftGroup",
    "Refusal",
    "culprits",
    "false_claims",
    "grafts_by_policy",
    "pure_message",
    "refusals",
]


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


def _key(reason: Reason) -> tuple[object, ...]:
    return (reason.kind, reason.file, reason.library, reason.version, reason.symbols,
            reason.grafted)  # fmt: skip


@value_class
class Culprit:
    """One reason against better tags, stated once, with every better tag it keeps out."""

    #: The reason as the first (best) of those tags states it.
    reason: Reason
    #: The better tags it keeps out, best first.
    tags: tuple[str, ...]
    #: It keeps out every tag better than the one the wheel can claim.
    everywhere: bool
    #: It keeps out the nearest better tag: it binds the wheel to the tag it has.
    binding: bool


def culprits(report: AuditReport, *, after_repair: bool = False) -> tuple[Culprit, ...]:
    """Every distinct reason against a tag better than the wheel can claim (as it is, or after
    repair), each once with the tags it keeps out: the binding ones first (those that keep out
    the nearest better tag), then by how many tags they keep out, then as the verdicts list
    them."""
    best = report.best_after_repair if after_repair else report.best
    if report.verdict is None or best is None:
        return ()
    better = [v for v in report.verdict.applicable if v.policy.priority > best.policy.priority]
    if not better:
        return ()
    nearest = min(better, key=lambda v: v.policy.priority).tag
    found: dict[tuple[object, ...], tuple[Reason, list[str]]] = {}
    for verdict in better:
        for reason in verdict.reasons_after_repair if after_repair else verdict.reasons:
            found.setdefault(_key(reason), (reason, []))[1].append(verdict.tag)
    out = [
        Culprit(reason, tuple(tags), len(tags) == len(better), nearest in tags)
        for reason, tags in found.values()
    ]
    order = {id(c): index for index, c in enumerate(out)}
    return tuple(sorted(out, key=lambda c: (not c.binding, -len(c.tags), order[id(c)])))


@value_class
class FalseClaim:
    """A platform tag the filename claims that the wheel's files do not allow as it is."""

    #: The tag as the filename spells it (``manylinux1_x86_64``).
    tag: str
    #: The reason that binds (against the claimed tag, in its words), ``None`` when the tag
    #: names no policy that applies.
    reason: Reason | None
    #: How many reasons refuse the tag in all.
    reasons: int
    #: ``the filename claims TAG, but WHY`` in one line.
    message: str


def false_claims(report: AuditReport) -> tuple[FalseClaim, ...]:
    """The manylinux, musllinux and Android tags of the filename that the audit refuses as the
    wheel is, each with the reason that binds: of the reasons against it, one that also keeps
    out the nearest tag better than the wheel can claim (for a wheel tagged ``manylinux1`` that
    needs ``GLIBC_2.28``, that symbol rather than its first older need). ``linux_*`` and the
    tags of other systems are not claims about a libc; a pure wheel claims nothing here."""
    if report.verdict is None or report.best is None:
        return ()
    binding = {_key(c.reason) for c in culprits(report) if c.binding}
    out = []
    for tag in report.filename.platform_tags:
        if not tag.startswith(("manylinux", "musllinux", "android_")):
            continue
        claimed = report.verdict.get(tag)
        if claimed is not None and claimed.allowed:
            continue
        if claimed is None or not claimed.reasons:
            why = f"no policy for {report.arch} and {report.libc.value if report.libc else '?'}"
            out.append(FalseClaim(tag, None, 0, f"the filename claims {tag}, but {why} has it"))
            continue
        reason = next((r for r in claimed.reasons if _key(r) in binding), claimed.reasons[0])
        more = len(claimed.reasons) - 1
        extra = f" (+{more} more reason{'s' if more > 1 else ''})" if more else ""
        message = f"the filename claims {tag}, but {reason.message}{extra}"
        out.append(FalseClaim(tag, reason, len(claimed.reasons), message))
    return tuple(out)
