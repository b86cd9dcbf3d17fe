"""A report as ``auditwheel show --json`` prints it (schema version 1), so that tools parsing
auditwheel's output (cibuildwheel, CI scripts) read manywheel's unchanged.

The mapping, field by field (auditwheel 6.8's ``main_show._output_json``):

- ``overall_tag``: the best tag the wheel can claim as it is (:attr:`AuditReport.best`).
- ``sym_tag``: the best tag symbol versions alone allow, once repaired (grafted libraries'
  versions count, as in auditwheel).
- ``pyfpe`` / ``ucs2`` / ``unsupported_isa``: whether any audited file has that problem.
- ``versioned_symbols``: every version each audited ELF member needs, per library (the dynamic
  loader aside), plus those of the libraries a repair grafts for the best repairable policy.
- ``external_libs``: for the highest policy of the wheel's libc and architecture, the libraries
  outside the wheel that are not on its whitelist (``null`` when not found).
- ``policy_upgrades``: for each policy better than ``overall_tag``, the libraries to eliminate
  and the blacklisted symbols bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from manywheel.policy import ReasonKind, is_dynamic_loader, is_libpython
from manywheel.report.json_values import JsonObject

if TYPE_CHECKING:
    from manywheel.audit import AuditReport
    from manywheel.policy import PolicyVerdict, Reason

__all__ = ["AUDITWHEEL_SCHEMA_VERSION", "auditwheel_error", "auditwheel_json", "auditwheel_pure"]

#: The ``version`` field of auditwheel's ``show --json`` document.
AUDITWHEEL_SCHEMA_VERSION = 1

#: Reasons about what the C library provides (musl has no symbol versions: its version stands
#: in for them in ``sym_tag``).
_VERSION_KINDS = frozenset(
    {
        ReasonKind.MUSL_TOO_NEW,
        ReasonKind.MUSL_UNKNOWN,
        ReasonKind.VERSION_TOO_NEW,
        ReasonKind.VERSION_NOT_PROVIDED,
        ReasonKind.VERSION_UNKNOWN_NAMESPACE,
        ReasonKind.VERSION_PRIVATE,
    }
)
_EXTERNAL_KINDS = frozenset(
    {ReasonKind.NOT_WHITELISTED, ReasonKind.LIBRARY_NOT_FOUND, ReasonKind.LIBPYTHON}
)


def auditwheel_pure(wheel: str) -> JsonObject:
    return {"version": AUDITWHEEL_SCHEMA_VERSION, "wheel": wheel, "pure": True}


def auditwheel_error(wheel: str, message: str) -> JsonObject:
    return {"version": AUDITWHEEL_SCHEMA_VERSION, "wheel": wheel, "error": message}


def auditwheel_json(report: AuditReport, wheel: str) -> JsonObject:
    """The ``result_platform`` document for a platform wheel (``report.verdict`` set)."""
    verdict = report.verdict
    assert verdict is not None and report.best is not None, "a pure wheel has no tags"
    applicable = verdict.applicable or verdict.policies
    best = report.best
    return {
        "version": AUDITWHEEL_SCHEMA_VERSION,
        "wheel": wheel,
        "pure": False,
        "overall_tag": best.tag,
        "sym_tag": _sym_tag(applicable),
        "pyfpe": _any_kind(applicable, ReasonKind.PYFPE_JBUF),
        "ucs2": _any_kind(applicable, ReasonKind.UCS2),
        "unsupported_isa": _any_kind(applicable, ReasonKind.ISA_LEVEL),
        "versioned_symbols": versioned_symbols(report),
        "external_libs": external_libs(report, applicable[0]),
        "policy_upgrades": _upgrades(applicable, best),
    }


def _sym_tag(applicable: Iterable[PolicyVerdict]) -> str:
    ordered = list(applicable)
    for verdict in ordered:
        if not any(r.kind in _VERSION_KINDS for r in verdict.reasons_after_repair):
            return verdict.tag
    return ordered[-1].tag


def _any_kind(applicable: Iterable[PolicyVerdict], kind: ReasonKind) -> bool:
    return any(r.kind is kind for v in applicable for r in (*v.reasons, *v.reasons_after_repair))


def versioned_symbols(report: AuditReport) -> dict[str, list[str]]:
    """Library -> sorted versions needed by the wheel's ELF members and by the libraries a
    repair grafts for the best repairable policy (the dynamic loader left out, as auditwheel
    does)."""
    out: dict[str, set[str]] = defaultdict(set)
    for member in report.members:
        for library, versions in member.versions.items():
            if not is_dynamic_loader(library):
                out[library].update(versions)
    after = report.best_after_repair
    if after is not None and report.requirements is not None:
        for soname in after.grafts:
            facts = report.requirements.libraries.get(soname)
            for use in () if facts is None else facts.needed:
                if use.versions and not is_dynamic_loader(use.soname):
                    out[use.soname].update(use.versions)
    return {lib: sorted(versions) for lib, versions in sorted(out.items())}


def external_libs(report: AuditReport, highest: PolicyVerdict) -> dict[str, str | None]:
    """Soname -> real path (or ``None``: not found) of every library ``highest`` would have a
    repair carry in, or finds missing."""
    realpaths = {e.soname: e.realpath for e in report.external}
    # auditwheel never looks libpython up (a repair drops it): always null there
    return {
        name: None if is_libpython(name) else realpaths.get(name) for name in _to_eliminate(highest)
    }


def _to_eliminate(verdict: PolicyVerdict) -> list[str]:
    """The libraries outside the wheel a policy does not allow: those a repair grafts (with
    their own dependencies), those not found, and libpython (a repair drops it), sorted."""
    missing = {
        r.library
        for r in (*verdict.reasons, *verdict.reasons_after_repair)
        if r.kind in _EXTERNAL_KINDS and r.library is not None
    }
    return sorted(set(verdict.grafts) | missing)


def _upgrades(applicable: Iterable[PolicyVerdict], best: PolicyVerdict) -> JsonObject:
    out: JsonObject = {}
    for verdict in reversed(list(applicable)):  # auditwheel's order: newest policy first
        if verdict.policy.priority <= best.policy.priority:
            continue
        entry: JsonObject = {}
        libs = _to_eliminate(verdict)
        if libs:
            entry["libs_to_eliminate"] = libs
        blacklisted = _blacklisted(verdict.reasons)
        if blacklisted:
            entry["blacklisted_symbols"] = blacklisted
        if entry:
            out[verdict.tag] = entry
    return out


def _blacklisted(reasons: Iterable[Reason]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for reason in reasons:
        if reason.kind is ReasonKind.BLACKLISTED_SYMBOL and reason.library and not reason.grafted:
            out[reason.library].update(reason.symbols)
    return {lib: sorted(symbols) for lib, symbols in sorted(out.items())}
