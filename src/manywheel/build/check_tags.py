"""Is every platform tag in a wheel's filename true? The audit's verdict (the one ``show``
prints) must allow each manylinux/musllinux tag the filename claims, as the wheel is; a
``linux_*`` tag is never accepted by an index; a wheel tagged ``any`` must hold no ELF file.
Tags of other operating systems are not judged here (they are not Linux wheels)."""

from __future__ import annotations

from manywheel.audit import AuditReport
from manywheel.policy import PolicyVerdict, Reason
from manywheel.values import value_class

__all__ = ["TagVerdict", "is_linux_tag", "judge_tags"]

_LINUX_PREFIXES = ("manylinux", "musllinux", "linux_")


@value_class
class TagVerdict:
    """One platform tag of the filename and whether the wheel's files allow it."""

    tag: str
    true: bool
    #: Why not: the reason that binds (see :func:`judge_tags`), in the claimed policy's words.
    reason: str | None = None
    #: How many reasons refuse the tag in all.
    reasons: int = 0


def is_linux_tag(tag: str) -> bool:
    return tag.startswith(_LINUX_PREFIXES)


def judge_tags(report: AuditReport) -> tuple[TagVerdict, ...]:
    """A verdict for each platform tag of ``report``'s filename, in the filename's order."""
    return tuple(_judge(tag, report) for tag in report.filename.platform_tags)


def _judge(tag: str, report: AuditReport) -> TagVerdict:
    if tag == "any":
        elves = [m.member for m in report.members] + [i.member for i in report.ignored]
        if elves:
            more = f" (+{len(elves) - 1} more)" if len(elves) > 1 else ""
            return TagVerdict(tag, False, f"a wheel tagged 'any' holds ELF file {elves[0]}{more}")
        return TagVerdict(tag, True)
    if not is_linux_tag(tag):
        return TagVerdict(tag, True)
    if tag.startswith("linux_"):
        return TagVerdict(tag, False, "package indexes refuse linux_* tags: repair the wheel", 1)
    if report.verdict is None:
        return TagVerdict(tag, False, f"the wheel holds no ELF file for {tag}", 1)
    claimed = report.verdict.get(tag)
    if claimed is None:
        return TagVerdict(tag, False, _unknown(tag, report), 1)
    if claimed.allowed:
        return TagVerdict(tag, True)
    reason = _binding_reason(claimed, report)
    return TagVerdict(tag, False, reason.message, len(claimed.reasons))


def _unknown(tag: str, report: AuditReport) -> str:
    arch = report.arch or "unknown"
    if report.verdict is not None and not tag.endswith(f"_{arch}"):
        return f"its ELF files are for {arch}"
    return "no such policy is known (a newer one? add it with --policy-file)"


def _culprit(reason: Reason) -> tuple[object, ...]:
    return (reason.kind, reason.file, reason.library, reason.version, reason.symbols)


def _binding_reason(claimed: PolicyVerdict, report: AuditReport) -> Reason:
    """Of the reasons against the claimed tag, the one that holds the wheel back the longest:
    a reason against the refused policy closest to the best one the wheel can claim (for a
    wheel that needs ``GLIBC_2.28`` tagged ``manylinux1``, that symbol rather than the first
    of its older needs), in the claimed policy's words."""
    assert report.verdict is not None and report.best is not None
    best = report.best.policy.priority
    refused = [v for v in report.verdict.applicable if v.policy.priority > best and v.reasons]
    if refused:
        closest = {_culprit(r) for r in refused[-1].reasons}
        for reason in claimed.reasons:
            if _culprit(reason) in closest:
                return reason
    return claimed.reasons[0]
