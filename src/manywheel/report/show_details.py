"""A report as manywheel's own JSON document (``manywheel show --json-details``): everything
the text report says, as data. Documented in docs/show-json.md; ``DETAILS_SCHEMA_VERSION`` grows
when a field changes meaning or disappears (new fields do not bump it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from manywheel.audit import false_claims
from manywheel.report.auditwheel_show import auditwheel_json, auditwheel_pure
from manywheel.report.json_values import JsonObject
from manywheel.report.python_abi import python_abi_json

if TYPE_CHECKING:
    from manywheel.audit import AuditReport, ElfMember, FalseClaim
    from manywheel.policy import PolicyVerdict, Reason
    from manywheel.wheel import Finding

__all__ = [
    "DETAILS_FORMAT",
    "DETAILS_SCHEMA_VERSION",
    "details_document",
    "details_json",
    "pure_facts",
    "symbols_of",
]

#: The ``format`` of the ``--json-details`` document.
DETAILS_FORMAT = "manywheel-show"
DETAILS_SCHEMA_VERSION = 1


def details_document(entries: Sequence[JsonObject]) -> JsonObject:
    """The ``--json-details`` document: one entry per wheel (:func:`details_json`, or an error
    entry), in the order given."""
    return {
        "format": DETAILS_FORMAT,
        "schema_version": DETAILS_SCHEMA_VERSION,
        "wheels": list(entries),
    }


def pure_facts(report: AuditReport) -> JsonObject:
    """What a pure wheel is: its Python tags, and whether it is universal (py2.py3)."""
    python = report.filename.python_tags
    return {
        "python_tags": list(python),
        "abi_tags": list(report.filename.abi_tags),
        "platform_tags": list(report.filename.platform_tags),
        "universal": {"py2", "py3"} <= set(python),
    }


def details_json(
    report: AuditReport, wheel: str, *, demangled: Mapping[str, str] | None = None
) -> JsonObject:
    """The wheel's entry: auditwheel's schema-1 document under ``auditwheel``, manywheel's facts
    beside it. ``demangled`` maps C++ symbol names to their demangled form (the CLI asks
    ``c++filt``): symbols stay as the ELF files name them, the demangled forms go beside them
    (``symbols_demangled`` in a reason, ``demangled`` in a member)."""
    names = demangled or {}
    if report.verdict is None:
        return {
            "wheel": wheel,
            "path": report.path,
            "pure": True,
            "auditwheel": auditwheel_pure(wheel),
            **pure_facts(report),
            "ignored": [{"member": i.member, "reason": i.reason} for i in report.ignored],
            "findings": [_finding(f) for f in report.findings],
        }
    best, after = report.best, report.best_after_repair
    assert best is not None and after is not None
    return {
        "wheel": wheel,
        "path": report.path,
        "pure": False,
        "auditwheel": auditwheel_json(report, wheel),
        "arch": report.arch,
        "libc": None if report.libc is None else report.libc.value,
        "musl_version": _musl(report),
        "as_is": _tag(best),
        "after_repair": _tag(after),
        "false_claims": [_claim(c, names) for c in false_claims(report)],
        "policies": [_policy(v, names) for v in report.verdict.applicable],
        "holdouts": [
            {"member": h.member, "with_it": h.with_it, "without_it": h.without_it}
            for h in report.holdouts
        ],
        "members": [_member(m, names) for m in report.members],
        "external": [
            {
                "soname": e.soname,
                "path": e.path,
                "realpath": e.realpath,
                "needed_by": list(e.needed_by),
            }
            for e in report.external
        ],
        "ignored": [{"member": i.member, "reason": i.reason} for i in report.ignored],
        "purelib_elves": list(report.purelib_elves),
        "findings": [_finding(f) for f in report.findings],
        "python_abi": python_abi_json(report.python_abi),
    }


def _musl(report: AuditReport) -> str | None:
    req = report.requirements
    if req is None or req.musl_version is None:
        return None
    return ".".join(map(str, req.musl_version))


def _tag(verdict: PolicyVerdict) -> JsonObject:
    return {"tag": verdict.tag, "aliases": list(verdict.alias_tags)}


def _claim(claim: FalseClaim, names: Mapping[str, str]) -> JsonObject:
    return {
        "tag": claim.tag,
        "message": claim.message,
        "reason": None if claim.reason is None else _reason(claim.reason, names),
        "reasons": claim.reasons,
    }


def _policy(verdict: PolicyVerdict, names: Mapping[str, str]) -> JsonObject:
    return {
        "tag": verdict.tag,
        "aliases": list(verdict.alias_tags),
        "allowed": verdict.allowed,
        "allowed_after_repair": verdict.allowed_after_repair,
        "grafts": list(verdict.grafts),
        "reasons": [_reason(r, names) for r in verdict.reasons],
        "reasons_after_repair": [_reason(r, names) for r in verdict.reasons_after_repair],
    }


def _reason(reason: Reason, names: Mapping[str, str]) -> JsonObject:
    return {
        "kind": reason.kind.value,
        "message": reason.message,
        "file": reason.file,
        "library": reason.library,
        "version": reason.version,
        "symbols": list(reason.symbols),
        "symbols_demangled": [names.get(s, s) for s in reason.symbols],
        "grafted": reason.grafted,
        "repairable": reason.repairable,
    }


def _member(member: ElfMember, names: Mapping[str, str]) -> JsonObject:
    elf = member.elf
    level = elf.x86_isa_level
    return {
        "member": member.member,
        "role": member.role.value,
        "arch": elf.arch,
        "soname": elf.soname,
        "interpreter": elf.interpreter,
        "rpath": list(elf.rpath),
        "runpath": list(elf.runpath),
        "needed": [
            {
                "soname": n.soname,
                "where": n.where.value,
                "path": n.path,
                "rule": n.rule,
                "entry": n.entry,
            }
            for n in member.needed
        ],
        "versions": {
            lib: {version: list(symbols) for version, symbols in versions.items()}
            for lib, versions in member.versions.items()
        },
        "isa_level": None if level is None else int(level),
        "executable_stack": elf.executable_stack,
        "load_alignment": elf.load_alignment,
        "low_alignment": member.low_alignment,
        "foreign_rpaths": list(member.foreign_rpaths),
        "libpython": member.libpython,
        "version_failures": [f.message for f in member.version_failures],
        "demangled": {
            symbol: names[symbol]
            for versions in member.versions.values()
            for symbols in versions.values()
            for symbol in symbols
            if symbol in names
        },
    }


def _finding(finding: Finding) -> JsonObject:
    return {
        "kind": finding.kind.label,
        "member": finding.member,
        "expected": finding.expected,
        "found": finding.found,
        "message": finding.message,
    }


def symbols_of(report: AuditReport) -> list[str]:
    """Every symbol name the document names (in reasons and in the members' versions), for
    the caller to demangle."""
    verdicts = report.verdict.policies if report.verdict else ()
    names = [s for v in verdicts for r in (*v.reasons, *v.reasons_after_repair) for s in r.symbols]
    names += [
        s
        for member in report.members
        for versions in member.versions.values()
        for symbols in versions.values()
        for s in symbols
    ]
    return names
