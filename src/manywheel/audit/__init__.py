"""Audit a wheel: every ELF member's facts, how the loader would resolve each library it needs,
the container's findings, and every policy's verdict with its reasons. Reads, never writes.

>>> report = audit_wheel("dist/pkg-1.0-cp311-cp311-linux_x86_64.whl")  # doctest: +SKIP
>>> report.best.tag, report.best_after_repair.tag  # doctest: +SKIP
('linux_x86_64', 'manylinux_2_17_x86_64')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.audit.include import INCLUDE_REQUESTER
from manywheel.audit.layout import WHEEL_ROOT, installed_path, is_inside_wheel
from manywheel.audit.libc import flavor_of, libc_of, musl_version_from_libc
from manywheel.audit.members import member_trees
from manywheel.audit.report import (
    AuditReport,
    ElfMember,
    ElfRole,
    ExternalLibrary,
    Holdout,
    IgnoredMember,
    NeededLibrary,
    Where,
)
from manywheel.audit.scan import ScannedElf, elf_member, scan_wheel
from manywheel.audit.wheel_audit import AuditOptions, analyze, audit_archive, audit_wheel
from manywheel.lazy import lazy_attributes

if TYPE_CHECKING:
    from manywheel.audit.python_abi import module_facts, python_abi_verdict
    from manywheel.audit.summary import (
        Culprit,
        FalseClaim,
        GraftGroup,
        Refusal,
        culprits,
        false_claims,
        grafts_by_policy,
        pure_message,
        refusals,
    )

#: The Python-tag verdict loads on first use: auditwheel's document does not need it.
_LAZY = {
    **dict.fromkeys(("module_facts", "python_abi_verdict"), "manywheel.audit.python_abi"),
    #: The summaries of the text report.
    **dict.fromkeys(
        (
            "Culprit",
            "FalseClaim",
            "GraftGroup",
            "Refusal",
            "culprits",
            "false_claims",
            "grafts_by_policy",
            "pure_message",
            "refusals",
        ),
        "manywheel.audit.summary",
    ),
}

__all__ = [
    "INCLUDE_REQUESTER",
    "WHEEL_ROOT",
    "AuditOptions",
    "AuditReport",
    "Culprit",
    "ElfMember",
    "ElfRole",
    "ExternalLibrary",
    "FalseClaim",
    "GraftGroup",
    "Holdout",
    "IgnoredMember",
    "NeededLibrary",
    "Refusal",
    "ScannedElf",
    "Where",
    "analyze",
    "audit_archive",
    "audit_wheel",
    "culprits",
    "elf_member",
    "false_claims",
    "flavor_of",
    "grafts_by_policy",
    "installed_path",
    "is_inside_wheel",
    "libc_of",
    "member_trees",
    "module_facts",
    "musl_version_from_libc",
    "pure_message",
    "python_abi_verdict",
    "refusals",
    "scan_wheel",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
